"""WebSocket connections and event fan-out (app/platform/web_hub.go, web_conn.go)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Collection
from typing import Any

from aiohttp import web

from .events import Event


def _dumps(value: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)


class Connection:
    """One socket. Events get this connection's `seq` (hello is 0); responses carry none."""

    def __init__(
        self, ws: web.WebSocketResponse, transport: asyncio.BaseTransport | None, connection_id: str
    ):
        self.id = connection_id
        self.ws = ws
        self.transport = transport
        self.user_id: str | None = None
        self.seq = 0
        self.last_pong = time.monotonic()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.closed = asyncio.Event()

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def send_event(self, name: str, data_json: str, broadcast_json: str) -> None:
        frame = f'{{"event":{_dumps(name)},"data":{data_json},"broadcast":{broadcast_json},"seq":{self.seq}}}'
        self.seq += 1
        self.queue.put_nowait(frame)

    def send_response(self, response: dict[str, Any]) -> None:
        self.queue.put_nowait(_dumps(response))

    def abort(self) -> None:
        """Close the TCP connection without a close frame, as gorilla's Conn.Close does."""
        if self.transport is not None:
            self.transport.abort()
        self.queue.put_nowait(None)

    async def write_loop(self) -> None:
        while (frame := await self.queue.get()) is not None:
            try:
                await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return


class Hub:
    """Delivers events to authenticated connections that `ShouldSendEvent` allows."""

    def __init__(
        self,
        channel_members: Callable[[str], Collection[str]],
        team_members: Callable[[str], Collection[str]],
    ) -> None:
        self._channel_members = channel_members
        self._team_members = team_members
        self.connections: set[Connection] = set()
        self.by_user: dict[str, set[Connection]] = {}
        self.on_change: asyncio.Event | None = None
        self.published: list[Event] = []

    def add(self, conn: Connection) -> None:
        self.connections.add(conn)

    def register(self, conn: Connection, user_id: str) -> None:
        conn.user_id = user_id
        self.by_user.setdefault(user_id, set()).add(conn)
        self._changed()

    def remove(self, conn: Connection) -> bool:
        """Forget a closed connection; True when it was its user's last one."""
        self.connections.discard(conn)
        if conn.user_id is None:
            return False
        conns = self.by_user.get(conn.user_id, set())
        conns.discard(conn)
        self._changed()
        if conns:
            return False
        self.by_user.pop(conn.user_id, None)
        return True

    def sockets_of(self, user_id: str) -> int:
        return len(self.by_user.get(user_id, ()))

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change.set()

    def publish(self, event: Event) -> None:
        self.published.append(event)
        broadcast = event.broadcast
        if broadcast.user_id:
            users: Collection[str] = (broadcast.user_id,)
        elif broadcast.channel_id:
            users = self._channel_members(broadcast.channel_id)
        elif broadcast.team_id:
            users = self._team_members(broadcast.team_id)
        else:
            users = tuple(self.by_user)
        data_json = _dumps(event.data, sort_keys=True)
        broadcast_json = _dumps(broadcast.to_json())
        for user_id in users:
            if user_id in broadcast.omit_users:
                continue
            conns = self.by_user.get(user_id)
            if not conns:
                continue
            payload = data_json
            if user_id in event.mentions or user_id in event.followers:
                payload = _dumps(self._hooked(event, user_id), sort_keys=True)
            for conn in conns:
                conn.send_event(event.name, payload, broadcast_json)

    @staticmethod
    def _hooked(event: Event, user_id: str) -> dict[str, Any]:
        """The `posted` hooks: `mentions`/`followers` name only the receiving user (since v9.3)."""
        data = dict(event.data)
        if user_id in event.mentions:
            data["mentions"] = _dumps([user_id])
        if user_id in event.followers:
            data["followers"] = _dumps([user_id])
        return data

    def drop_all(self) -> None:
        for conn in list(self.connections):
            conn.abort()

    async def wait_closed(self) -> None:
        for conn in list(self.connections):
            await conn.closed.wait()
