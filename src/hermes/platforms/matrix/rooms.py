"""What the adapter remembers about rooms: members (for DM detection and names), the account's `m.direct`
map, and the threads the bot takes part in. Loaded lazily from the homeserver, kept current from /sync.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Generic, TypeVar

from hermes.platforms.matrix.http import MatrixHTTP, Method, client_path

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")

_PRESENT = {"join", "invite"}


class BoundedDict(OrderedDict[K, V], Generic[K, V]):
    """Forgets the oldest entries beyond `limit`, so long-running bots do not grow without bound."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class RoomDirectory:
    """Members of the rooms the bot is in: who is there (joined or invited) and under which name."""

    def __init__(self, http: MatrixHTTP) -> None:
        self.http = http
        self._members: dict[str, dict[str, tuple[str, str | None]]] = {}

    async def ensure(self, room_id: str) -> None:
        if room_id in self._members:
            return
        answer = await self.http.request(
            Method.GET, client_path("rooms/{}/members", room_id), query_params={"not_membership": "leave"}
        )
        members: dict[str, tuple[str, str | None]] = {}
        for event in answer.get("chunk", []):
            user_id, membership, name = _member(event)
            if user_id and membership in _PRESENT:
                members[user_id] = (membership, name)
        self._members.setdefault(room_id, members)

    def apply(self, room_id: str, event: dict[str, Any]) -> None:
        """A membership change seen in /sync; ignored until the room's member list has been loaded."""
        members = self._members.get(room_id)
        if members is None or event.get("type") != "m.room.member":
            return
        user_id, membership, name = _member(event)
        if not user_id:
            return
        if membership in _PRESENT:
            members[user_id] = (membership, name)
        else:
            members.pop(user_id, None)

    def forget(self, room_id: str) -> None:
        self._members.pop(room_id, None)

    def member_count(self, room_id: str) -> int:
        return len(self._members.get(room_id, {}))

    def display_name(self, room_id: str, user_id: str) -> str:
        member = self._members.get(room_id, {}).get(user_id)
        if member is not None and member[1]:
            return member[1]
        return user_id[1:].split(":", 1)[0]


def _member(event: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    content = found if isinstance(found := event.get("content"), dict) else {}
    name = content.get("displayname")
    return event.get("state_key"), content.get("membership"), name if isinstance(name, str) else None


class DirectRooms:
    """The account's `m.direct` map (user -> DM rooms), as other clients and our own invites record it."""

    TYPE = "m.direct"

    def __init__(self, http: MatrixHTTP, user_id: str) -> None:
        self.http = http
        self.user_id = user_id
        self._rooms: set[str] = set()

    async def load(self) -> None:
        self.update(await self._fetch())

    def update(self, content: dict[str, Any]) -> None:
        self._rooms = {room for rooms in content.values() if isinstance(rooms, list) for room in rooms}

    def is_direct(self, room_id: str) -> bool:
        return room_id in self._rooms

    async def add(self, user_id: str, room_id: str) -> None:
        # Read-modify-write on the freshest copy: another of the account's clients may have changed it.
        content = await self._fetch()
        rooms = content.setdefault(user_id, [])
        if room_id in rooms:
            return
        rooms.append(room_id)
        path = client_path("user/{}/account_data/{}", self.user_id, self.TYPE)
        await self.http.request(Method.PUT, path, content)
        self.update(content)

    async def _fetch(self) -> dict[str, Any]:
        path = client_path("user/{}/account_data/{}", self.user_id, self.TYPE)
        try:
            content = await self.http.request(Method.GET, path)
        except Exception as exc:
            if getattr(exc, "http_status", None) == 404:
                return {}
            raise
        return content if isinstance(content, dict) else {}


class ThreadBook:
    """Threads the bot takes part in, and the newest event of each thread (a reply's fallback target)."""

    def __init__(self, http: MatrixHTTP, user_id: str, limit: int = 10_000) -> None:
        self.http = http
        self.user_id = user_id
        self._joined: BoundedDict[tuple[str, str], bool] = BoundedDict(limit)
        self._latest: BoundedDict[tuple[str, str], str] = BoundedDict(limit)

    def joined(self, room_id: str, root: str) -> None:
        self._joined[(room_id, root)] = True

    def saw(self, room_id: str, root: str, event_id: str) -> None:
        self._latest[(room_id, root)] = event_id

    def latest(self, room_id: str, root: str) -> str:
        return self._latest.get((room_id, root), root)

    async def bot_in_thread(self, room_id: str, root: str) -> bool:
        """Known from this run, else the homeserver's thread summary says whether the bot took part."""
        if (room_id, root) in self._joined:
            return True
        try:
            event = await self.http.request(Method.GET, client_path("rooms/{}/event/{}", room_id, root))
        except Exception as exc:
            log.debug("matrix: cannot read thread root %s in %s: %s", root, room_id, exc)
            return False
        summary = ((event.get("unsigned") or {}).get("m.relations") or {}).get("m.thread") or {}
        participated = event.get("sender") == self.user_id or summary.get("current_user_participated") is True
        if participated:
            self.joined(room_id, root)
        return participated
