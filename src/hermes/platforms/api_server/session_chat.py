"""`POST /api/sessions/{id}/chat` and `/chat/stream` (API-CONTRACT §10): one turn of chat on a session, as
JSON or as named-event SSE. It runs under the same cap and per-session order as every other run, and a
failed turn is an error, not a 200 with success flags (§17.18)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

from aiohttp import web

from hermes.agent.contract import Failed, Final, RunRequest, TextDelta, ToolFinished, ToolStarted
from hermes.platforms.api_server.admission import Admission
from hermes.platforms.api_server.auth import caller_of
from hermes.platforms.api_server.body import read_object
from hermes.platforms.api_server.endpoints import json_response
from hermes.platforms.api_server.errors import ApiError, bad_request, run_failed
from hermes.platforms.api_server.inputs import parse_input
from hermes.platforms.api_server.running import run_to_end
from hermes.platforms.api_server.session_headers import (
    PLATFORM,
    SESSION_HEADER,
    SESSION_KEY_HEADER,
    SESSION_KEY_PREFIX,
    memory_scope,
    session_key_from,
)
from hermes.platforms.api_server.session_store import ApiSession
from hermes.platforms.api_server.sse import EventStream
from hermes.platforms.base import HubPort


class SessionChat:
    def __init__(
        self,
        hub: HubPort,
        admission: Admission,
        keepalive_seconds: float,
        find: Callable[[web.Request], Awaitable[ApiSession]],
    ) -> None:
        """`find`: the session a request names, if its caller may use it (404 otherwise)."""
        self.hub = hub
        self.admission = admission
        self.keepalive_seconds = keepalive_seconds
        self._find = find

    def _run_request(self, request: web.Request, session: ApiSession, body: dict[str, Any]) -> RunRequest:
        value = body.get("message", body.get("input"))
        if value is None:
            raise ApiError(
                400, "Missing 'message' (the text to send).", param="message", code="missing_message"
            )
        turn = parse_input(value, "message" if "message" in body else "input")
        system = body.get("system_message", body.get("instructions"))
        if system is not None and not isinstance(system, str):
            raise bad_request("`system_message` must be a string.", "system_message")
        scope = memory_scope(caller_of(request), session_key_from(request.headers.get(SESSION_KEY_HEADER)))
        return RunRequest(
            session_key=SESSION_KEY_PREFIX + session.session_id,
            text=turn.text,
            platform=PLATFORM,
            chat_kind="api",
            user_id=PLATFORM,
            images=turn.images,
            extra_system="\n\n".join(p for p in (turn.system_text, system) if p) or None,
            memory_scope=scope,
            store_at_end=True,
        )

    async def answer(self, request: web.Request) -> web.Response:
        session = await self._find(request)
        run = self._run_request(request, session, await read_object(request))
        with self.admission.slot():
            end = await run_to_end(self.hub, run)
        if not isinstance(end, Final):
            raise run_failed(
                end.message if end else "The run ended without an answer.", end.status if end else None
            )
        return json_response(
            {
                "object": "hermes.session.chat.completion",
                "session_id": session.session_id,
                "message": {"role": "assistant", "content": end.text},
                "usage": _usage(end),
            },
            headers=_headers(request, session),
        )

    async def stream(self, request: web.Request) -> web.StreamResponse:
        session = await self._find(request)
        run = self._run_request(request, session, await read_object(request))
        run_id = f"run_{os.urandom(16).hex()}"
        message_id = f"msg_{os.urandom(16).hex()}"
        sequence = 0

        def record(kind: str, **fields: Any) -> bytes:
            nonlocal sequence
            sequence += 1
            data = {
                "session_id": session.session_id,
                "run_id": run_id,
                "seq": sequence,
                "ts": time.time(),
                **fields,
            }
            return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()

        stream = EventStream(request, _headers(request, session), b"", self.keepalive_seconds)
        cancel = asyncio.Event()
        end: Final | Failed | None = None
        text: list[str] = []
        with self.admission.slot():
            try:
                await stream.write(
                    record("run.started", user_message={"role": "user", "content": run.text})
                    + record("message.started", message={"id": message_id, "role": "assistant"})
                )
                async with aclosing(self.hub.run_request(run, cancel)) as events:
                    async for event in events:
                        if isinstance(event, TextDelta):
                            text.append(event.text)
                            await stream.write(
                                record("assistant.delta", message_id=message_id, delta=event.text)
                            )
                        elif isinstance(event, ToolStarted):
                            await stream.write(
                                record(
                                    "tool.started",
                                    message_id=message_id,
                                    tool_name=event.name,
                                    args=event.arguments,
                                )
                            )
                        elif isinstance(event, ToolFinished):
                            await stream.write(
                                record("tool.completed", message_id=message_id, tool_name=event.name)
                            )
                        else:
                            end = event
                if isinstance(end, Final):
                    tail = record(
                        "assistant.completed",
                        message_id=message_id,
                        content=end.text,
                        completed=True,
                        partial=False,
                        interrupted=False,
                    ) + record("run.completed", message_id=message_id, completed=True, usage=_usage(end))
                else:
                    message = end.message if end is not None else "The run ended without an answer."
                    tail = record("error", message=message, partial=bool(text))
                await stream.finish(tail + record("done"))
            except ConnectionError:
                cancel.set()
            except asyncio.CancelledError:
                cancel.set()
                raise
            finally:
                stream.close()
        return stream.response


def _headers(request: web.Request, session: ApiSession) -> dict[str, str]:
    headers = {SESSION_HEADER: session.session_id}
    key = session_key_from(request.headers.get(SESSION_KEY_HEADER))
    if key is not None:
        headers[SESSION_KEY_HEADER] = key
    return headers


def _usage(end: Final) -> dict[str, int]:
    return {
        "input_tokens": end.usage.prompt_tokens,
        "output_tokens": end.usage.completion_tokens,
        "total_tokens": end.usage.prompt_tokens + end.usage.completion_tokens,
    }
