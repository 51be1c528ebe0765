"""Sending one turn over HTTP: JSON bodies, SSE streams, and the ways a real connection breaks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from .turns import Cut, Error, Malformed, Stall
from .wire import Answer, Context, ResolvedUsage, Wire, dumps

_NOTHING_SAID = Answer(text="", text_pieces=[], calls=[], truncated=False, usage=ResolvedUsage(1, 1, 0, 0))


@dataclass
class Playback:
    """How one request is answered. `closing` is set when the fake shuts down, ending every wait early."""

    request: web.Request
    wire: Wire
    ctx: Context
    closing: asyncio.Event
    instant: bool

    async def wait(self, seconds: float) -> bool:
        return await wait_unless(self.closing, seconds)

    def headers(self) -> dict[str, str]:
        return {self.wire.request_id_header: f"req_{self.ctx.response_id}"}

    def json(self, data: dict, status: int = 200, extra: dict[str, str] | None = None) -> web.Response:
        headers = self.headers() if extra is None else {**self.headers(), **extra}
        return web.Response(
            status=status, body=dumps(data).encode(), content_type="application/json", headers=headers
        )

    def error(
        self,
        status: int,
        message: str | None,
        error_type: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> web.Response:
        extra = {} if retry_after is None else {"Retry-After": format_seconds(retry_after)}
        return self.json(self.wire.error_body(status, message, error_type, code), status, extra)

    def abort(self) -> None:
        if self.request.transport is not None:
            self.request.transport.close()

    async def answer(self, answer: Answer, stream: bool, chunk_delay: float) -> web.StreamResponse:
        if not stream:
            return self.json(self.wire.json_body(answer, self.ctx))
        return await self.stream(self.wire.events(answer, self.ctx), chunk_delay)

    async def stream(
        self,
        events: list[bytes],
        chunk_delay: float = 0.0,
        *,
        pause_at: int | None = None,
        pause: float = 0.0,
        cut: bool = False,
    ) -> web.StreamResponse:
        """Writes `events` as SSE; `pause_at` hangs before that event, `cut` drops the connection after."""
        response = web.StreamResponse(headers={**self.headers(), "Cache-Control": "no-cache"})
        response.content_type = "text/event-stream"
        response.charset = "utf-8"
        await response.prepare(self.request)
        if pause_at is None and (self.instant or chunk_delay <= 0):
            await response.write(b"".join(events))
        else:
            for i, event in enumerate(events):
                delay = pause if i == pause_at else (0.0 if self.instant or i == 0 else chunk_delay)
                if await self.wait(delay):
                    self.abort()
                    return response
                await response.write(event)
        if cut:
            self.abort()
        else:
            await response.write_eof()
        return response

    async def error_turn(self, turn: Error, stream: bool) -> web.StreamResponse:
        if not (turn.in_stream and stream):
            return self.error(turn.status, turn.message, turn.error_type, turn.code, turn.retry_after)
        opening = self.wire.events(_NOTHING_SAID, self.ctx)[0]
        failure = self.wire.error_event(turn.status, turn.message, turn.error_type, turn.code)
        return await self.stream([opening, failure])

    async def malformed(self, turn: Malformed, answer: Answer, stream: bool) -> web.StreamResponse:
        if not stream:
            body = dumps(self.wire.json_body(answer, self.ctx))
            truncated = body[: len(body) // 2].encode()
            return web.Response(body=truncated, content_type="application/json", headers=self.headers())
        events = self.wire.events(answer, self.ctx)
        after = min(turn.after, len(events))
        return await self.stream([*events[:after], self.wire.malformed_event(), *events[after:]])

    async def cut(self, turn: Cut, answer: Answer, stream: bool) -> web.StreamResponse:
        if stream:
            events = self.wire.events(answer, self.ctx)
            return await self.stream(events[: min(turn.after, len(events) - 1)], cut=True)
        body = dumps(self.wire.json_body(answer, self.ctx)).encode()
        response = web.StreamResponse(headers=self.headers())
        response.content_type = "application/json"
        response.content_length = len(body)
        await response.prepare(self.request)
        await response.write(body[: len(body) // 2])
        self.abort()
        return response

    async def stall(self, turn: Stall, answer: Answer, stream: bool) -> web.StreamResponse:
        if stream:
            events = self.wire.events(answer, self.ctx)
            return await self.stream(events, pause_at=min(turn.after, len(events) - 1), pause=turn.seconds)
        if await self.wait(turn.seconds):
            self.abort()
        return self.json(self.wire.json_body(answer, self.ctx))


async def wait_unless(closing: asyncio.Event, seconds: float) -> bool:
    """Sleeps; True when cut short because `closing` was set (the fake is shutting down)."""
    if seconds <= 0:
        return False
    try:
        await asyncio.wait_for(closing.wait(), seconds)
    except TimeoutError:
        return False
    return True


def format_seconds(value: float) -> str:
    # Both clients accept a fractional Retry-After, which keeps retry tests fast.
    return str(int(value)) if float(value).is_integer() else str(value)
