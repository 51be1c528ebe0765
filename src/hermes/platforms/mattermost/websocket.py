"""The Mattermost WebSocket: authenticate with the challenge, then a stream of events.

The bot connects without credentials and sends `authentication_challenge` (seq 1); a valid token gets
`hello` (the connection's event seq 0) and then `{"status": "OK", "seq_reply": 1}`, an invalid one a
silent close. Events carry a per-connection `seq` counting up from 0; a gap means events were lost and
the connection is given up, so the reconnect's catch-up reads them from the REST API. Like the official
JS client, an application `ping` goes out every 30 s and a ping still unanswered when the next is due
means the connection is dead. The server's WebSocket PINGs are answered by aiohttp itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from hermes.platforms.mattermost.rest import USER_AGENT

log = logging.getLogger(__name__)

AUTH_TIMEOUT = 10.0


class StreamClosed(Exception):
    """The connection ended; the message says why."""


class AuthenticationRefused(StreamClosed):
    """The server closed the socket instead of saying hello: the token was not accepted."""


@dataclass(frozen=True)
class Hello:
    connection_id: str
    server_version: str


class EventStream:
    """One authenticated connection. `next_event()` returns event frames in order, or raises StreamClosed."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        ws: aiohttp.ClientWebSocketResponse,
        hello: Hello,
        ping_interval: float,
    ) -> None:
        self._session = session
        self.ws = ws
        self.hello = hello
        self._ping_interval = ping_interval
        # None marks the end of the stream, and stays in the queue for every later reader.
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._next_seq = 1
        self._request_seq = 1  # the challenge was 1
        self._unanswered_ping: int | None = None
        self.pings_answered = 0
        self._close_reason = "closed"
        self._reader = asyncio.create_task(self._read(), name="mattermost-ws-read")
        self._pinger = asyncio.create_task(self._ping(), name="mattermost-ws-ping")

    @classmethod
    async def open(
        cls, url: str, token: str, *, ping_interval: float, auth_timeout: float = AUTH_TIMEOUT
    ) -> EventStream:
        # A session of its own, without the REST client's Authorization header: the token goes in the
        # challenge, so a refused token is a prompt close rather than an unauthenticated socket.
        session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        try:
            async with asyncio.timeout(auth_timeout):
                ws = await session.ws_connect(
                    url, autoping=True, heartbeat=None, timeout=aiohttp.ClientWSTimeout(ws_close=2.0)
                )
                challenge = {"seq": 1, "action": "authentication_challenge", "data": {"token": token}}
                await ws.send_str(json.dumps(challenge))
                hello = await _wait_for_hello(ws)
        except BaseException:
            await session.close()
            raise
        return cls(session, ws, hello, ping_interval)

    async def next_event(self) -> dict[str, Any]:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)
            raise StreamClosed(self._close_reason)
        return item

    async def close(self) -> None:
        for task in (self._pinger, self._reader):
            task.cancel()
        await asyncio.gather(self._pinger, self._reader, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.ws.close()
        await self._session.close()
        self._end("closed by the bot")

    def _end(self, reason: str) -> None:
        if self._close_reason == "closed":
            self._close_reason = reason
        self._queue.put_nowait(None)

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    frame = _decode(message.data)
                elif message.type == aiohttp.WSMsgType.BINARY:
                    frame = None  # msgpack frames are never sent to clients that speak JSON
                else:
                    break
                if frame is None:
                    continue
                if "event" in frame:
                    if not self._take_event(frame):
                        return
                elif "seq_reply" in frame:
                    self._take_reply(frame)
            self._end(f"the server closed the connection (code {self.ws.close_code})")
        except (aiohttp.ClientError, ConnectionError) as exc:
            self._end(f"connection error: {exc}")

    def _take_event(self, frame: dict[str, Any]) -> bool:
        seq = frame.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            if seq != self._next_seq:
                self._end(f"events lost (expected seq {self._next_seq}, got {seq})")
                return False
            self._next_seq = seq + 1
        self._queue.put_nowait(frame)
        return True

    def _take_reply(self, frame: dict[str, Any]) -> None:
        if frame.get("seq_reply") == self._unanswered_ping:
            self._unanswered_ping = None
            self.pings_answered += 1

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            if self._unanswered_ping is not None:
                self._end(f"no answer to a ping within {self._ping_interval:.0f} s")
                await self.ws.close()
                return
            self._request_seq += 1
            self._unanswered_ping = self._request_seq
            try:
                await self.ws.send_str(json.dumps({"seq": self._request_seq, "action": "ping"}))
            except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
                self._end(f"ping failed: {exc}")
                return


async def _wait_for_hello(ws: aiohttp.ClientWebSocketResponse) -> Hello:
    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        frame = _decode(message.data)
        if frame is None or frame.get("event") != "hello":
            continue
        data = found if isinstance(found := frame.get("data"), dict) else {}
        return Hello(str(data.get("connection_id") or ""), str(data.get("server_version") or ""))
    raise AuthenticationRefused("the server closed the WebSocket during authentication")


def _decode(raw: str) -> dict[str, Any] | None:
    try:
        frame = json.loads(raw)
    except ValueError:
        log.debug("mattermost: ignoring a WebSocket frame that is not JSON")
        return None
    return frame if isinstance(frame, dict) else None
