"""Server-sent events in OpenAI's chunk format, with keep-alive comments while the agent is quiet.

Headers go out with the first event, not before: a run that fails before saying anything still gets a
proper error status instead of a 200 stream. A keep-alive also counts as the first event, so a client
behind a proxy with an idle timeout sees bytes within `keepalive_seconds`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from hermes.agent.contract import ToolFinished, ToolStarted, Usage

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"
TOOL_PROGRESS_EVENT = "hermes.tool.progress"
_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    # Tells nginx and similar proxies not to hold the stream back in a buffer.
    "X-Accel-Buffering": "no",
}


class ChunkFormat:
    """The chunks of one completion. The fields every chunk repeats are serialised once."""

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        head = json.dumps(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
            }
        )
        self._head = head[:-1]
        self._tail = ',"usage":null}' if include_usage else "}"
        self.include_usage = include_usage

    def _chunk(self, delta: str, finish: str) -> str:
        return (
            f'{self._head},"choices":[{{"index":0,"delta":{delta},"logprobs":null,'
            f'"finish_reason":{finish}}}]{self._tail}'
        )

    def opening(self) -> bytes:
        return f"data: {self._chunk(_ROLE_DELTA, 'null')}\n\n".encode()

    def text(self, text: str) -> bytes:
        return f"data: {self._chunk(json.dumps({'content': text}), 'null')}\n\n".encode()

    def closing(self, usage: Usage) -> bytes:
        """The finish chunk, the usage chunk when asked for, and the end marker."""
        parts = [f"data: {self._chunk('{}', _STOP)}\n\n"]
        if self.include_usage:
            total = usage.prompt_tokens + usage.completion_tokens
            counts = json.dumps(
                {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                    "total_tokens": total,
                }
            )
            parts.append(f'data: {self._head},"choices":[],"usage":{counts}}}\n\n')
        return "".join(parts).encode() + DONE

    def tool_progress(self, event: ToolStarted | ToolFinished) -> bytes:
        """A named event: plain OpenAI clients that read it anyway see a chunk with an empty delta, like
        the finish chunk, and print nothing."""
        progress: dict[str, Any] = {"tool": event.name, "call_id": event.call_id}
        if isinstance(event, ToolStarted):
            progress["status"] = "started"
        else:
            progress.update(status="finished", ok=event.ok, summary=event.summary)
        chunk = self._chunk("{}", "null")
        return f"event: {TOOL_PROGRESS_EVENT}\ndata: {chunk[:-1]},{_hermes(progress)}}}\n\n".encode()


_ROLE_DELTA = '{"role":"assistant","content":""}'
_STOP = '"stop"'


def _hermes(progress: dict[str, Any]) -> str:
    return f'"hermes":{json.dumps(progress)}'


def error_event(body: Mapping[str, Any]) -> bytes:
    """An error after the stream has started (the status is already 200): OpenAI's clients raise on it."""
    return f"data: {json.dumps(body)}\n\n".encode() + DONE


class EventStream:
    """One SSE response. Writes are serialised, so a keep-alive never lands inside an event."""

    def __init__(
        self,
        request: web.Request,
        headers: Mapping[str, str],
        opening: bytes,
        keepalive_seconds: float,
    ) -> None:
        self.response = web.StreamResponse(headers={**_HEADERS, **headers})
        self._request = request
        self._opening = opening
        self._interval = keepalive_seconds
        self._lock = asyncio.Lock()
        self._loop = asyncio.get_running_loop()
        self._last_write = self._loop.time()
        self._timer = self._loop.call_later(keepalive_seconds, self._tick)
        self._keepalive: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self.response.prepared

    async def write(self, data: bytes) -> None:
        """Raises ConnectionError when the client has gone away."""
        async with self._lock:
            if not self.response.prepared:
                await self.response.prepare(self._request)
                data = self._opening + data
            await self.response.write(data)
            self._last_write = self._loop.time()

    async def finish(self, data: bytes) -> None:
        await self.write(data)
        self.close()
        await self.response.write_eof()

    def close(self) -> None:
        self._timer.cancel()
        if self._keepalive is not None and not self._keepalive.done():
            self._keepalive.cancel()

    def _tick(self) -> None:
        idle = self._loop.time() - self._last_write
        if idle >= self._interval:
            if self._keepalive is None or self._keepalive.done():
                self._keepalive = asyncio.ensure_future(self._send_keepalive())
            idle = 0.0
        self._timer = self._loop.call_later(self._interval - idle, self._tick)

    async def _send_keepalive(self) -> None:
        try:
            await self.write(KEEPALIVE)
        except ConnectionError:
            # The client is gone; the run is cancelled by the handler, which sees it too.
            self._timer.cancel()
