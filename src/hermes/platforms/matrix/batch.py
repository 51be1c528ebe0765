"""One /sync response to the ordered list of `Inbound` it carries for the hub.

Along the way: `m.direct` updates, invites answered, member lists kept current, and gaps filled — when
the homeserver trims a room's timeline (`limited`), the missing events are fetched back to the previous
cursor so nothing sent while the bot was away is lost. In a room the bot has just joined, what came
before its invitation is history, not something to answer. The first sync of a new installation answers
nothing: it only sets the starting point.

With end-to-end encryption, the crypto machine takes the batch's room state, to-device messages (room
keys) and device lists first; then each `m.room.encrypted` event is decrypted before it is read. An event
whose room key has not arrived is read later (`late_events.py`); one that cannot be decrypted gets a log
line and, at most hourly, a notice to its sender. Plaintext messages in an encrypted room are dropped (a
client or server that skipped encryption), and with MATRIX_E2EE_MODE=required so is anything from a device
that is neither verified nor cross-signed. Without encryption, encrypted rooms are not read at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hermes.platforms.base import Inbound
from hermes.platforms.matrix.crypto.errors import RoomKeyMissing, Undecryptable, UntrustedDevice
from hermes.platforms.matrix.http import MatrixHTTP, Method, client_path, is_transient
from hermes.platforms.matrix.inbound import EventReader
from hermes.platforms.matrix.invites import InviteHandler
from hermes.platforms.matrix.late_events import LateEvents
from hermes.platforms.matrix.room_encryption import RoomEncryption
from hermes.platforms.matrix.rooms import DirectRooms, RoomDirectory
from hermes.platforms.matrix.undecryptable import UNTRUSTED_NOTICE, UndecryptableNotices

if TYPE_CHECKING:
    from hermes.platforms.matrix.crypto.engine import E2EE

log = logging.getLogger(__name__)

GAP_PAGE = 100
GAP_MAX_PAGES = 5
ENCRYPTED = "m.room.encrypted"
_READ_TYPES = ("m.room.message", "m.reaction", ENCRYPTED)
_GAP_FILTER = json.dumps({"types": [*_READ_TYPES, "m.room.member"]})
# How long a message waits for a late room key before it counts as undecryptable.
ROOM_KEY_WAIT = 20.0


@dataclass
class Decryption:
    """What the reader needs for encrypted rooms; `e2ee` is None when the bot cannot decrypt."""

    encryption: RoomEncryption
    e2ee: E2EE | None
    late: LateEvents
    undecryptable: UndecryptableNotices


class BatchReader:
    def __init__(
        self,
        http: MatrixHTTP,
        user_id: str,
        reader: EventReader,
        invites: InviteHandler,
        rooms: RoomDirectory,
        direct: DirectRooms,
        decryption: Decryption,
    ) -> None:
        self.http = http
        self.user_id = user_id
        self.reader = reader
        self.invites = invites
        self.rooms = rooms
        self.direct = direct
        self.decryption = decryption

    async def read(self, sync: dict[str, Any], since: str | None) -> list[Inbound]:
        e2ee = self.decryption.e2ee
        if e2ee is not None:
            await e2ee.absorb(sync)
        for event in (sync.get("account_data") or {}).get("events") or []:
            if event.get("type") == DirectRooms.TYPE and isinstance(event.get("content"), dict):
                self.direct.update(event["content"])
        rooms = sync.get("rooms") or {}
        for room_id, room in (rooms.get("invite") or {}).items():
            await self.invites.handle(room_id, room)
        for room_id in rooms.get("leave") or {}:
            self.rooms.forget(room_id)
        if since is None:
            return []
        encryption = self.decryption.encryption
        candidates: list[tuple[str, dict[str, Any]]] = []
        for room_id, room in (rooms.get("join") or {}).items():
            for event in (room.get("state") or {}).get("events") or []:
                self.rooms.apply(room_id, event)
                encryption.apply(room_id, event)
            for event in await self._timeline(room_id, room, since):
                self.rooms.apply(room_id, event)
                encryption.apply(room_id, event)
                if event.get("type") in _READ_TYPES and "event_id" in event:
                    candidates.append((room_id, event))
        results = await asyncio.gather(
            *(self._read(room_id, event, since) for room_id, event in candidates), return_exceptions=True
        )
        inbounds: list[Inbound] = []
        for (room_id, event), result in zip(candidates, results, strict=True):
            if isinstance(result, BaseException):
                if is_transient(result) or not isinstance(result, Exception):
                    raise result
                log.error("matrix: dropped event %s in %s: %r", event.get("event_id"), room_id, result)
            elif result is not None:
                inbounds.append(result)
        return inbounds

    async def _read(self, room_id: str, event: dict[str, Any], since: str) -> Inbound | None:
        decryption = self.decryption
        e2ee = decryption.e2ee
        if event.get("type") == ENCRYPTED:
            decryption.encryption.mark_encrypted(room_id)
            if event.get("sender") == self.user_id:
                # Its relation (a thread the bot is in) travels in the clear; the rest is the bot's own.
                return await self.reader.read(room_id, event)
            if e2ee is None:
                decryption.encryption.refusal(room_id)
                return None
            try:
                event = await e2ee.decrypt(room_id, event)
            except RoomKeyMissing:
                decryption.late.add(since, self._read_late(e2ee, room_id, event))
                return None
            except UntrustedDevice as exc:
                decryption.undecryptable.report(room_id, event, str(exc), notice=UNTRUSTED_NOTICE)
                return None
            except Undecryptable as exc:
                decryption.undecryptable.report(room_id, event, str(exc))
                return None
        elif event.get("sender") != self.user_id and await decryption.encryption.is_encrypted(room_id):
            if e2ee is None:
                # Plaintext in an encrypted room (a client without encryption): answering it is impossible.
                decryption.encryption.refusal(room_id)
                return None
            # Element sends reactions in the clear even in encrypted rooms; only "required" refuses them.
            if event.get("type") != "m.reaction" or e2ee.require_trusted:
                log.warning(
                    "matrix: dropped plaintext %s %s from %s in encrypted room %s",
                    event.get("type"),
                    event.get("event_id"),
                    event.get("sender"),
                    room_id,
                )
                return None
        return await self.reader.read(room_id, event)

    async def _read_late(self, e2ee: E2EE, room_id: str, event: dict[str, Any]) -> Inbound | None:
        try:
            plain = await e2ee.decrypt_when_key_arrives(room_id, event, ROOM_KEY_WAIT)
        except UntrustedDevice as exc:
            self.decryption.undecryptable.report(room_id, event, str(exc), notice=UNTRUSTED_NOTICE)
            return None
        except Undecryptable as exc:
            self.decryption.undecryptable.report(room_id, event, str(exc))
            return None
        return await self.reader.read(room_id, plain)

    async def _timeline(self, room_id: str, room: dict[str, Any], since: str) -> list[dict[str, Any]]:
        timeline = room.get("timeline") or {}
        events: list[dict[str, Any]] = list(timeline.get("events") or [])
        start = self._history_end(events)
        if start is not None:
            return events[start:]
        prev_batch = timeline.get("prev_batch")
        if timeline.get("limited") and isinstance(prev_batch, str):
            events = await self._fill_gap(room_id, prev_batch, since) + events
        return events

    def _history_end(self, events: list[dict[str, Any]]) -> int | None:
        """Where a room the bot joined in this batch stops being history: at its invitation (or join)."""
        own = [
            (index, (event.get("content") or {}).get("membership"))
            for index, event in enumerate(events)
            if event.get("type") == "m.room.member" and event.get("state_key") == self.user_id
        ]
        joins = [index for index, membership in own if membership == "join"]
        if not joins:
            return None
        boundary = joins[-1]
        for index, membership in reversed(own):
            if index >= joins[-1]:
                continue
            if membership == "invite":
                boundary = index
            break
        return boundary

    async def _fill_gap(self, room_id: str, prev_batch: str, since: str) -> list[dict[str, Any]]:
        missing: list[dict[str, Any]] = []
        token = prev_batch
        for _ in range(GAP_MAX_PAGES):
            page = await self.http.request(
                Method.GET,
                client_path("rooms/{}/messages", room_id),
                query_params={
                    "dir": "b",
                    "from": token,
                    "to": since,
                    "limit": str(GAP_PAGE),
                    "filter": _GAP_FILTER,
                },
            )
            chunk = page.get("chunk") or []
            missing.extend(chunk)
            end = page.get("end")
            if not chunk or not isinstance(end, str) or end == token:
                break
            token = end
        else:
            log.warning(
                "matrix: more than %d events missed in %s; older ones are skipped", len(missing), room_id
            )
        if missing:
            log.info("matrix: fetched %d event(s) missed in %s", len(missing), room_id)
        return list(reversed(missing))
