"""Clients and comparisons the emulator's tests share."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from tests.fakes.mattermost import MattermostEmulator, User

FIXTURES = Path(__file__).parent / "reference" / "fixtures"
JSON_STRING_FIELDS = frozenset({"post", "reaction", "mentions", "followers"})
ID_KEYED_FIELDS = frozenset({"posts", "omit_users"})
FREE_FORM_FIELDS = frozenset({"props", "metadata"})


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def assert_same_shape(actual: Any, expected: Any, where: str = "$") -> None:
    """Same keys, same JSON types, all the way down; JSON-encoded string fields are compared decoded,
    id-keyed maps value by value, and free-form bags (props, metadata) by type only."""
    assert type(actual) is type(expected), f"{where}: {type(actual).__name__} != {type(expected).__name__}"
    field = where.rsplit(".", 1)[-1]
    if field in FREE_FORM_FIELDS:
        return
    if isinstance(expected, dict) and field in ID_KEYED_FIELDS:
        sample = next(iter(expected.values()))
        for key, value in actual.items():
            assert_same_shape(value, sample, f"{where}[{key}]")
    elif isinstance(expected, dict):
        assert set(actual) == set(expected), f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for key, value in expected.items():
            mine = actual[key]
            if key in JSON_STRING_FIELDS and isinstance(value, str):
                assert_same_shape(json.loads(mine), json.loads(value), f"{where}.{key}")
            else:
                assert_same_shape(mine, value, f"{where}.{key}")
    elif isinstance(expected, list) and expected and actual:
        assert_same_shape(actual[0], expected[0], f"{where}[0]")


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class Rest:
    """REST calls as one user (or as nobody, with token=None)."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str | None) -> None:
        self.session = session
        self.base = base
        self.token = token

    async def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Reply:
        all_headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        all_headers |= headers or {}
        async with self.session.request(method, self.base + path, headers=all_headers, **kwargs) as response:
            return Reply(response.status, response.headers, await response.read())

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("DELETE", path, **kwargs)


class Socket:
    """A WebSocket client reading frames as dicts."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seq = 0

    async def frame(self, timeout: float = 2.0) -> dict[str, Any]:
        message = await self.ws.receive(timeout=timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, f"expected a text frame, got {message.type!r}"
        return json.loads(message.data)

    async def event(self, name: str, timeout: float = 2.0) -> dict[str, Any]:
        """The next event called `name`, skipping any other frame."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frame(timeout)
                if frame.get("event") == name:
                    return frame

    async def send(self, action: str, data: dict[str, Any] | None = None, seq: int | None = None) -> int:
        self.seq = seq if seq is not None else self.seq + 1
        await self.ws.send_json({"seq": self.seq, "action": action, "data": data or {}})
        return self.seq

    async def reply_to(self, seq: int, timeout: float = 2.0) -> dict[str, Any]:
        """The response with seq_reply == seq; events met on the way are skipped."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frame(timeout)
                if "event" not in frame and frame.get("seq_reply") == seq:
                    return frame

    async def closed_silently(self, timeout: float = 2.0) -> bool:
        """True when the very next thing is the server cutting the connection, without a close frame."""
        message = await self.ws.receive(timeout=timeout)
        return message.type == aiohttp.WSMsgType.CLOSED and self.ws.close_code == 1006

    async def closed_abruptly(self, timeout: float = 2.0) -> bool:
        """True when the server cut the connection with no close frame; text still in flight is skipped."""
        async with asyncio.timeout(timeout):
            message = await self.ws.receive()
            while message.type == aiohttp.WSMsgType.TEXT:
                message = await self.ws.receive()
        return message.type == aiohttp.WSMsgType.CLOSED and self.ws.close_code == 1006


class Harness:
    """The emulator plus an HTTP session to talk to it."""

    def __init__(self, mm: MattermostEmulator, session: aiohttp.ClientSession) -> None:
        self.mm = mm
        self.session = session

    def rest(self, user: User | None) -> Rest:
        return Rest(self.session, self.mm.url, self.mm.token_for(user) if user else None)

    async def socket(self, user: User | None = None, *, header: bool = True, **kwargs: Any) -> Socket:
        """Connected as `user`: with the Authorization header, or (header=False) by challenge."""
        headers = {"Authorization": f"Bearer {self.mm.token_for(user)}"} if user and header else {}
        ws = await self.session.ws_connect(self.mm.ws_url, headers=headers, **kwargs)
        socket = Socket(ws)
        if user and not header:
            await socket.send("authentication_challenge", {"token": self.mm.token_for(user)})
        return socket

    async def ready_socket(self, user: User) -> Socket:
        """Authenticated, with hello and the first status_change already read."""
        socket = await self.socket(user)
        await socket.event("hello")
        await socket.event("status_change")
        return socket
