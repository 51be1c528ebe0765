"""`POST /v1/chat/completions`: one agent run per request, answered as one JSON body or as SSE chunks.

Sessions: every exchange is kept under the hub session key `api_server:session:<id>`. Without
`X-Hermes-Session-Id` the server picks a fresh id and names it in the response; with it, that id. For an id
the server holds no transcript for yet, the body's earlier messages open the session; afterwards only the
body's last message (which must be the user's) is new. So a client that sends its next message alone with
the id of an earlier exchange continues it, and one that resends its whole history (as OpenAI clients do)
is not answered twice over; one that resends its whole history without the id (as chat UIs do) continues
the session that history came from (`continuations.py`). The body's system messages are layered over the
agent's prompt. Runs of one
session are serialised by the hub, never interleaved (ids and headers: `session_headers.py`).

Models: the request's `model` is never refused. An exact `api_server.model_routes` alias runs that route's
model; any other value runs the configured model. Either way the value is echoed back.

A client that goes away cancels its run: aiohttp cancels the handler (`handler_cancellation`), which
closes the hub's event stream, which stops the agent.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hermes.agent.contract import (
    ChatMessage,
    Failed,
    Final,
    RunRequest,
    TextDelta,
    ToolFinished,
    ToolStarted,
    Usage,
)
from hermes.platforms.api_server.admission import Admission
from hermes.platforms.api_server.auth import caller_of
from hermes.platforms.api_server.body import ChatCall, parse_chat_call
from hermes.platforms.api_server.continuations import Continuations
from hermes.platforms.api_server.endpoints import Endpoint
from hermes.platforms.api_server.errors import (
    ApiError,
    run_failed,
    shutting_down,
)
from hermes.platforms.api_server.idempotency import HEADER as IDEMPOTENCY_HEADER
from hermes.platforms.api_server.idempotency import MAX_KEY_CHARS, IdempotencyCache, fingerprint
from hermes.platforms.api_server.metrics import ApiMetrics
from hermes.platforms.api_server.models import ModelCatalog
from hermes.platforms.api_server.ownership import claim
from hermes.platforms.api_server.running import run_to_end
from hermes.platforms.api_server.session_headers import (
    PLATFORM,
    SESSION_HEADER,
    SESSION_KEY_HEADER,
    SESSION_KEY_PREFIX,
    memory_scope,
    session_id_from,
    session_key_from,
)
from hermes.platforms.api_server.session_store import ApiSessions
from hermes.platforms.api_server.sse import ChunkFormat, EventStream
from hermes.platforms.base import HubPort

# What makes two requests with one Idempotency-Key the same request (the reference's choice).
_FINGERPRINT_FIELDS = ("model", "messages", "tools", "tool_choice", "stream")
_JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class ChatOptions:
    models: ModelCatalog
    keepalive_seconds: float


def run_request(
    call: ChatCall, session_id: str, model: str | None, scope: str | None = None, *, new: bool = False
) -> RunRequest:
    """`new`: the server made `session_id` up for this request."""
    last = call.last
    return RunRequest(
        session_key=SESSION_KEY_PREFIX + session_id,
        text=last.content or "",
        platform=PLATFORM,
        chat_kind="api",
        user_id=PLATFORM,
        images=last.images,
        model_override=model,
        seed=tuple(m for m in call.messages[:-1] if m.role != "system"),
        extra_system=call.system_text,
        memory_scope=scope,
        store_at_end=True,
        new_session=new,
    )


class ChatCompletions:
    def __init__(
        self,
        hub: HubPort,
        options: ChatOptions,
        admission: Admission,
        idempotency: IdempotencyCache,
        metrics: ApiMetrics,
        owners: ApiSessions | None = None,
    ) -> None:
        self.owners = owners
        self.continuations = Continuations()
        self.hub = hub
        self.options = options
        self.admission = admission
        self.idempotency = idempotency
        self.metrics = metrics

    def endpoints(self) -> list[Endpoint]:
        return [Endpoint("chat_completions", "POST", "/v1/chat/completions", self.handle)]

    def features(self) -> dict[str, Any]:
        return {
            "chat_completions": True,
            "chat_completions_streaming": True,
            "tool_progress_events": True,
            "session_continuity_header": SESSION_HEADER,
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        given = session_id_from(request.headers.get(SESSION_HEADER))
        session_key = session_key_from(request.headers.get(SESSION_KEY_HEADER))
        raw = await request.read()
        call = parse_chat_call(raw, self.options.models.name)
        self.admission.check()
        idempotency_key = request.headers.get(IDEMPOTENCY_HEADER)
        if idempotency_key and not call.stream:
            caller = caller_of(request)
            scope = (caller.name, given or "", session_key or "", idempotency_key[:MAX_KEY_CHARS])
            print_ = fingerprint(json.loads(raw), _FINGERPRINT_FIELDS)
            return await self.idempotency.answer(
                scope, print_, lambda: self._run(request, call, given, session_key)
            )
        return await self._run(request, call, given, session_key)

    async def _run(
        self, request: web.Request, call: ChatCall, given: str | None, session_key: str | None
    ) -> web.StreamResponse:
        caller = caller_of(request)
        history = call.messages[:-1]
        if given is not None:
            self.continuations.forget(given)
        found = given or self.continuations.find(caller.name, history)
        session_id = found or os.urandom(16).hex()
        if self.owners is not None:
            await claim(self.owners, caller, session_id)
        scope = memory_scope(caller, session_key)
        model = self.options.models.routed_model(call.model)
        run = run_request(call, session_id, model, scope, new=found is None)
        headers = {SESSION_HEADER: session_id}
        if session_key is not None:
            headers[SESSION_KEY_HEADER] = session_key
        with self.admission.slot():
            if call.stream:
                response, answer = await self._stream(request, call, run, headers)
            else:
                response, answer = await self._json(call, run, headers)
        if given is None and answer is not None:
            exchange = (*call.messages, ChatMessage("assistant", answer))
            self.continuations.remember(caller.name, exchange, session_id)
        return response

    async def _json(
        self, call: ChatCall, run: RunRequest, headers: dict[str, str]
    ) -> tuple[web.Response, str]:
        """The response, and the answer it carries."""
        end = await run_to_end(self.hub, run)
        if not isinstance(end, Final):
            raise self._failure(end)
        self.metrics.tokens(end.usage)
        usage = end.usage
        body = {
            "id": _completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": end.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.prompt_tokens + usage.completion_tokens,
            },
            "system_fingerprint": None,
        }
        return web.Response(body=json.dumps(body).encode(), headers={**_JSON_HEADERS, **headers}), end.text

    async def _stream(
        self, request: web.Request, call: ChatCall, run: RunRequest, headers: dict[str, str]
    ) -> tuple[web.StreamResponse, str | None]:
        """The response, and the answer it carried when the client received all of it."""
        chunks = ChunkFormat(_completion_id(), int(time.time()), call.model, call.include_usage)
        stream = EventStream(request, headers, chunks.opening(), self.options.keepalive_seconds)
        cancel = asyncio.Event()
        end: Final | Failed | None = None
        wrote_text = False
        answer: str | None = None
        try:
            async with aclosing(self.hub.run_request(run, cancel)) as events:
                async for event in events:
                    if isinstance(event, TextDelta):
                        await stream.write(chunks.text(event.text))
                        wrote_text = True
                    elif isinstance(event, ToolStarted | ToolFinished):
                        progress = chunks.tool_progress(event)
                        if progress is not None:
                            await stream.write(progress)
                    else:
                        end = event
            if isinstance(end, Final):
                self.metrics.tokens(end.usage)
                # An answer that came whole (no deltas) is still sent as text before the finish chunk.
                opening = b"" if wrote_text or not end.text else chunks.text(end.text)
                await stream.finish(opening + chunks.closing(end.usage))
                answer = end.text
            else:
                error = self._failure(end)
                if not stream.started:
                    raise error
                await stream.finish(chunks.failure(error.body()["error"], wrote_text, Usage()))
        except ConnectionError:
            # The client went away between two writes; closing the event stream stops the run.
            cancel.set()
        except asyncio.CancelledError:
            cancel.set()
            raise
        finally:
            stream.close()
        return stream.response, answer

    def _failure(self, failed: Failed | None) -> ApiError:
        if failed is None:
            return run_failed("The run ended without an answer.", None)
        if failed.cancelled:
            return shutting_down()
        self.metrics.provider_error(failed.status)
        return run_failed(failed.message, failed.status)


def _completion_id() -> str:
    return f"chatcmpl-{os.urandom(12).hex()}"
