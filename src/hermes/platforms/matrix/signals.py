"""Typing notifications and read receipts: ephemeral signals, not room events, never carrying content.

Both are deferred a little. A reply that comes quickly then needs no typing notice at all (saving the
homeserver two requests per reply), and neither signal queues at the homeserver in front of the reply
itself. Receipts are coalesced per room: only the newest event is marked read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

from hermes.platforms.matrix.http import MatrixHTTP, Method, client_path

log = logging.getLogger(__name__)

TYPING_TIMEOUT_MS = 30_000


class Signals:
    def __init__(
        self, http: MatrixHTTP, user_id: str, *, typing_delay: float = 0.3, receipt_delay: float = 0.5
    ) -> None:
        self.http = http
        self.user_id = user_id
        self.typing_delay = typing_delay
        self.receipt_delay = receipt_delay
        self._typing_soon: dict[str, asyncio.Task[None]] = {}
        self._typing_shown: set[str] = set()
        self._typing_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._unread: dict[str, str] = {}
        self._receipts_soon: dict[str, asyncio.Task[None]] = {}

    async def typing(self, room_id: str, on: bool) -> None:
        if on:
            if room_id in self._typing_shown:
                await self._put_typing(room_id, True)
            elif room_id not in self._typing_soon:
                self._typing_soon[room_id] = asyncio.create_task(self._show_typing_later(room_id))
            return
        soon = self._typing_soon.pop(room_id, None)
        if soon is not None:
            soon.cancel()
        if room_id in self._typing_shown:
            self._typing_shown.discard(room_id)
            await self._put_typing(room_id, False)

    async def _show_typing_later(self, room_id: str) -> None:
        await asyncio.sleep(self.typing_delay)
        self._typing_soon.pop(room_id, None)
        self._typing_shown.add(room_id)
        try:
            await self._put_typing(room_id, True)
        except Exception as exc:
            log.debug("matrix: typing notice in %s failed: %s", room_id, exc)

    async def _put_typing(self, room_id: str, on: bool) -> None:
        body: dict[str, Any] = {"typing": True, "timeout": TYPING_TIMEOUT_MS} if on else {"typing": False}
        # One at a time per room, so "stopped typing" never overtakes "typing".
        path = client_path("rooms/{}/typing/{}", room_id, self.user_id)
        async with self._typing_locks[room_id]:
            await self.http.request(Method.PUT, path, body)

    def read(self, room_id: str, event_id: str) -> None:
        """Mark `event_id` read soon (with whatever newer event of the room arrives meanwhile)."""
        self._unread[room_id] = event_id
        if room_id not in self._receipts_soon:
            self._receipts_soon[room_id] = asyncio.create_task(self._send_receipt_later(room_id))

    async def _send_receipt_later(self, room_id: str) -> None:
        try:
            await asyncio.sleep(self.receipt_delay)
        finally:
            self._receipts_soon.pop(room_id, None)
        await self._send_receipt(room_id)

    async def _send_receipt(self, room_id: str) -> None:
        event_id = self._unread.pop(room_id, None)
        if event_id is None:
            return
        try:
            path = client_path("rooms/{}/receipt/m.read/{}", room_id, event_id)
            await self.http.request(Method.POST, path, {})
        except Exception as exc:
            log.debug("matrix: read receipt in %s failed: %s", room_id, exc)

    async def close(self) -> None:
        """Send the receipts still waiting; drop typing notices (they expire on their own)."""
        for task in [*self._typing_soon.values(), *self._receipts_soon.values()]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(self._send_receipt(room_id) for room_id in list(self._unread)))
