"""One Gateway connection (v10, JSON text frames, no compression): HELLO, heartbeats with jitter,
IDENTIFY or RESUME, and the dispatches read one at a time.

What a connection cannot handle itself ends it with an exception the listener acts on: `Reconnect`
(op 7, a dropped socket, a missed heartbeat ACK: resume), `SessionInvalid` (op 9: resume or identify
again), `GatewayRefused` (a close code Discord says not to retry: 4004 bad token, 4010-4014).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sys
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 20.0
# Close codes after which Discord says not to reconnect.
FATAL_CLOSES = {
    4004: "authentication failed: Discord refused DISCORD_BOT_TOKEN",
    4010: "invalid shard",
    4011: "sharding required",
    4012: "invalid API version",
    4013: "invalid intents",
    4014: "disallowed intents",
}
# A close that ends the session on Discord's side; any other keeps it resumable for a while.
_RESUMABLE_CLOSE = 4000


class Reconnect(Exception):
    """The connection ended; the session may be resumed (unless `session_lost`)."""

    def __init__(self, reason: str, *, session_lost: bool = False) -> None:
        super().__init__(reason)
        self.session_lost = session_lost


class SessionInvalid(Exception):
    def __init__(self, resumable: bool) -> None:
        super().__init__(f"invalid session (resumable: {resumable})")
        self.resumable = resumable


class GatewayRefused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"Discord closed the Gateway with {code}: {FATAL_CLOSES.get(code, 'refused')}")
        self.code = code


@dataclass(frozen=True)
class Resume:
    session_id: str
    seq: int


class GatewaySocket:
    """Open with `connect`, then `start(identify | resume)`, then `receive` dispatches until it raises."""

    def __init__(
        self, ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession, interval: float
    ) -> None:
        self.ws = ws
        self._http = session
        self.interval = interval
        self.seq: int | None = None
        self._acked = True
        self.latency: float | None = None
        self._beat_sent = 0.0
        self._heartbeat: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str, *, proxy: str | None = None) -> GatewaySocket:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(
                f"{url.rstrip('/')}/?v=10&encoding=json", proxy=proxy, heartbeat=None
            )
            async with asyncio.timeout(HELLO_TIMEOUT):
                while True:
                    payload = await _read(ws)
                    if payload.get("op") == 10:
                        break
                    if payload.get("op") == 7:
                        raise Reconnect("op 7 before HELLO")
        except BaseException:
            await session.close()
            raise
        interval = float(payload["d"]["heartbeat_interval"]) / 1000.0
        return cls(ws, session, interval)

    async def identify(self, token: str, intents: int) -> None:
        await self._send(
            {
                "op": 2,
                "d": {
                    "token": token,
                    "intents": intents,
                    "properties": {"os": sys.platform, "browser": "hermes", "device": "hermes"},
                    "large_threshold": 50,
                },
            }
        )
        self._start_heartbeat()

    async def resume(self, token: str, resume: Resume) -> None:
        self.seq = resume.seq
        await self._send({"op": 6, "d": {"token": token, "session_id": resume.session_id, "seq": resume.seq}})
        self._start_heartbeat()

    def _start_heartbeat(self) -> None:
        self._heartbeat = asyncio.create_task(self._beat(), name="discord-heartbeat")

    async def _beat(self) -> None:
        # The first beat after interval × jitter, as the docs ask, so that a fleet reconnecting at once
        # does not beat in step.
        await asyncio.sleep(self.interval * random.random())
        while True:
            if not self._acked:
                log.warning("discord: no heartbeat ACK within %.1f s; reconnecting", self.interval)
                # Any code but 1000/1001 keeps the session resumable.
                await self.ws.close(code=_RESUMABLE_CLOSE, message=b"zombie connection")
                return
            await self.beat()
            await asyncio.sleep(self.interval)

    async def beat(self) -> None:
        self._acked = False
        self._beat_sent = asyncio.get_running_loop().time()
        await self._send({"op": 1, "d": self.seq})

    async def _send(self, payload: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(payload))

    async def receive(self) -> dict[str, Any]:
        """The next dispatch (op 0); heartbeat traffic is handled here."""
        while True:
            payload = await _read(self.ws)
            op = payload.get("op")
            if op == 0:
                if isinstance(payload.get("s"), int):
                    self.seq = payload["s"]
                return payload
            if op == 11:
                self._acked = True
                self.latency = asyncio.get_running_loop().time() - self._beat_sent
            elif op == 1:
                await self.beat()
            elif op == 7:
                raise Reconnect("Discord asked for a reconnect (op 7)")
            elif op == 9:
                raise SessionInvalid(bool(payload.get("d")))

    async def close(self, *, keep_session: bool = True) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._heartbeat
        with contextlib.suppress(Exception):
            await self.ws.close(code=_RESUMABLE_CLOSE if keep_session else 1000)
        await self._http.close()


async def _read(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive()
    if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
        try:
            payload = json.loads(message.data)
        except ValueError as exc:
            raise Reconnect(f"unreadable Gateway frame: {exc}") from None
        if not isinstance(payload, dict):
            raise Reconnect("unreadable Gateway frame")
        return payload
    code = ws.close_code
    if code in FATAL_CLOSES:
        raise GatewayRefused(code)
    if message.type == aiohttp.WSMsgType.ERROR:
        raise Reconnect(f"Gateway socket error: {message.data}")
    # 4007 (bad seq) and 4009 (session timed out) end the session: the next connection identifies.
    raise Reconnect(f"Gateway closed ({code})", session_lost=code in (4007, 4009))
