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
        self._envelope = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
        }
        head = json.dumps(self._envelope)
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
        """The finish chunk (carrying the usage, as the third-party client requires), OpenAI's separate
        usage chunk when asked for, and the end marker."""
        counts = _usage(usage)
        parts = [
            f'{self._head},"choices":[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"stop"}}],'
        ]
        parts.append(f'"usage":{counts}}}')
        if self.include_usage:
            parts.append(f'\n\ndata: {self._head},"choices":[],"usage":{counts}}}')
        return ("data: " + "".join(parts) + "\n\n").encode() + DONE

    def failure(self, error: Mapping[str, Any], partial: bool, usage: Usage) -> bytes:
        """The finish chunk of a run that failed after the stream started: `finish_reason` "error" with the
        `hermes` block the third-party client requires (`failed`, `partial` present), and an `error` member
        that makes OpenAI's clients raise."""
        chunk = {
            **self._envelope,
            "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "error"}],
            "usage": json.loads(_usage(usage)),
            "error": dict(error),
            "hermes": {
                "completed": False,
                "partial": partial,
                "failed": True,
                "error": error.get("message"),
                "error_code": "agent_error",
            },
        }
        return f"data: {json.dumps(chunk)}\n\n".encode() + DONE

    def tool_progress(self, event: ToolStarted | ToolFinished) -> bytes | None:
        """A named event the third-party client reads (`tool`, `toolCallId`, `status` running|completed).
        Its data is also a chunk with an empty delta, so OpenAI clients that ignore event names see
        nothing to print. None for internal tools (names starting with `_`)."""
        if event.name.startswith("_"):
            return None
        progress: dict[str, Any] = {"tool": event.name, "toolCallId": _visible(event.call_id)}
        if isinstance(event, ToolStarted):
            # No preview of the arguments: they may hold what the user would not show (a token in a command).
            progress["status"] = "running"
        else:
            progress.update(status="completed", ok=event.ok, summary=event.summary)
        chunk = self._chunk("{}", "null")
        return f"event: {TOOL_PROGRESS_EVENT}\ndata: {chunk[:-1]},{json.dumps(progress)[1:]}\n\n".encode()


_ROLE_DELTA = '{"role":"assistant","content":""}'
_STOP = '"stop"'


def _usage(usage: Usage) -> str:
    return json.dumps(
        {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        }
    )


def _visible(text: str) -> str:
    """1-256 visible ASCII characters: what the third-party client accepts as a tool call id."""
    cleaned = "".join(c if "!" <= c <= "~" else "_" for c in text)[:256]
    return cleaned or "call"


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
