"""Which rooms are encrypted, known before anything is read or sent there.

Learnt from `m.room.encryption` state in /sync; a room not seen since start is looked up once (its state
event, or 404). A room never stops being encrypted (the Matrix spec forbids it), so a "yes" is final.

Without working encryption (MATRIX_E2EE_MODE=off, or optional and the crypto could not start) an
encrypted room gets nothing from the bot: its events are not read and every send there is refused with
`PlaintextRefused`. One log line per room says so.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hermes.platforms.matrix.http import MatrixHTTP, Method, client_path

log = logging.getLogger(__name__)

ENCRYPTION_STATE = "m.room.encryption"


class PlaintextRefused(Exception):
    """A send into an encrypted room while encryption is not working: nothing was sent."""


class RoomEncryption:
    def __init__(self, http: MatrixHTTP, *, off_reason: str | None) -> None:
        """`off_reason` says why the bot cannot encrypt (for the log line), or None when it can."""
        self.http = http
        self.off_reason = off_reason
        self._encrypted: dict[str, bool] = {}
        self._lookups: dict[str, asyncio.Task[bool]] = {}
        self._refused: set[str] = set()

    def apply(self, room_id: str, event: dict[str, Any]) -> None:
        """A state or timeline event from /sync."""
        if event.get("type") == ENCRYPTION_STATE and event.get("state_key") == "":
            self._encrypted[room_id] = True

    def mark_encrypted(self, room_id: str) -> None:
        """The room carries encrypted events, whatever its state says."""
        self._encrypted[room_id] = True

    async def is_encrypted(self, room_id: str) -> bool:
        known = self._encrypted.get(room_id)
        if known is not None:
            return known
        lookup = self._lookups.get(room_id)
        if lookup is None:
            lookup = self._lookups[room_id] = asyncio.ensure_future(self._look_up(room_id))
            lookup.add_done_callback(lambda _: self._lookups.pop(room_id, None))
        # Shielded: one caller giving up must not cancel the lookup the others wait for.
        return await asyncio.shield(lookup)

    async def _look_up(self, room_id: str) -> bool:
        path = client_path("rooms/{}/state/{}/", room_id, ENCRYPTION_STATE)
        try:
            await self.http.request(Method.GET, path)
        except Exception as exc:
            if getattr(exc, "http_status", None) != 404:
                raise
            encrypted = False
        else:
            encrypted = True
        # Sync may have seen the state event meanwhile; it is never undone.
        return self._encrypted.setdefault(room_id, encrypted)

    def refusal(self, room_id: str) -> PlaintextRefused:
        """The error for a send (or read) in an encrypted room without encryption; logged once per room."""
        reason = self.off_reason or "end-to-end encryption is not working"
        if room_id not in self._refused:
            self._refused.add(room_id)
            log.warning(
                "matrix: %s is an encrypted room, but %s: nothing is read or sent there", room_id, reason
            )
        return PlaintextRefused(f"{room_id} is encrypted and {reason}: nothing was sent")
