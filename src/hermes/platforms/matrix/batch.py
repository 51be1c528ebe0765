"""One /sync response to the ordered list of `Inbound` it carries for the hub.

Along the way: `m.direct` updates, invites answered, member lists kept current, and gaps filled — when
the homeserver trims a room's timeline (`limited`), the missing events are fetched back to the previous
cursor so nothing sent while the bot was away is lost. In a room the bot has just joined, what came
before its invitation is history, not something to answer. The first sync of a new installation answers
nothing: it only sets the starting point.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from hermes.platforms.base import Inbound
from hermes.platforms.matrix.http import MatrixHTTP, Method, client_path, is_transient
from hermes.platforms.matrix.inbound import EventReader
from hermes.platforms.matrix.invites import InviteHandler
from hermes.platforms.matrix.rooms import DirectRooms, RoomDirectory

log = logging.getLogger(__name__)

GAP_PAGE = 100
GAP_MAX_PAGES = 5
_GAP_FILTER = json.dumps({"types": ["m.room.message", "m.reaction", "m.room.member"]})


class BatchReader:
    def __init__(
        self,
        http: MatrixHTTP,
        user_id: str,
        reader: EventReader,
        invites: InviteHandler,
        rooms: RoomDirectory,
        direct: DirectRooms,
    ) -> None:
        self.http = http
        self.user_id = user_id
        self.reader = reader
        self.invites = invites
        self.rooms = rooms
        self.direct = direct

    async def read(self, sync: dict[str, Any], since: str | None) -> list[Inbound]:
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
        candidates: list[tuple[str, dict[str, Any]]] = []
        for room_id, room in (rooms.get("join") or {}).items():
            for event in (room.get("state") or {}).get("events") or []:
                self.rooms.apply(room_id, event)
            for event in await self._timeline(room_id, room, since):
                self.rooms.apply(room_id, event)
                if event.get("type") in ("m.room.message", "m.reaction") and "event_id" in event:
                    candidates.append((room_id, event))
        results = await asyncio.gather(
            *(self.reader.read(room_id, event) for room_id, event in candidates), return_exceptions=True
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
