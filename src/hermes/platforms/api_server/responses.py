"""`/v1/responses` (API-CONTRACT §8): OpenAI's Responses API, JSON and streaming, chained with
`previous_response_id` (or a named `conversation`), stored in state.db (`store`, default true) for the
retention period, read back and deleted with GET/DELETE.

A response's run uses an API session like every other API run: chaining continues the session of the
previous response; chaining from an older response than the session's latest forks a new session at
that point, so two branches never mix. A run that fails is reported as `failed` (not `completed` with the
error as its text, §17.17); one cut short (client gone, shutdown) as `incomplete`. A client key reaches
only the responses it created.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hermes.agent.contract import ChatMessage, Failed, Final, RunRequest
from hermes.platforms.api_server.admission import Admission
from hermes.platforms.api_server.auth import Caller, caller_of
from hermes.platforms.api_server.body import read_object
from hermes.platforms.api_server.endpoints import Endpoint, json_response
from hermes.platforms.api_server.errors import ApiError, bad_request
from hermes.platforms.api_server.idempotency import HEADER as IDEMPOTENCY_HEADER
from hermes.platforms.api_server.idempotency import MAX_KEY_CHARS, IdempotencyCache, fingerprint
from hermes.platforms.api_server.inputs import parse_history, parse_input
from hermes.platforms.api_server.models import ModelCatalog
from hermes.platforms.api_server.ownership import claim
from hermes.platforms.api_server.response_items import ResponseBuilder
from hermes.platforms.api_server.running import run_to_end
from hermes.platforms.api_server.runs_api import bool_like
from hermes.platforms.api_server.session_headers import (
    PLATFORM,
    SESSION_HEADER,
    SESSION_KEY_HEADER,
    SESSION_KEY_PREFIX,
    memory_scope,
    session_key_from,
)
from hermes.platforms.api_server.session_store import ApiSessions
from hermes.platforms.api_server.sse import EventStream
from hermes.platforms.base import HubPort
from hermes.store import Store
from hermes.store.api_responses import StoredResponse

log = logging.getLogger(__name__)

_FINGERPRINT_FIELDS = ("input", "instructions", "previous_response_id", "conversation", "model", "tools")


@dataclass(frozen=True)
class Retention:
    days: float
    max_responses: int


@dataclass(frozen=True)
class Chain:
    session_id: str
    seed: tuple[ChatMessage, ...]
    instructions: str | None
    # The session id was made up for this request: no session is stored under it yet.
    new: bool = False


def response_not_found(response_id: str, param: str | None = None) -> ApiError:
    what = "Previous response" if param else "Response"
    return ApiError(404, f"{what} not found: {response_id[:100]}", param=param, code="response_not_found")


class ResponsesApi:
    def __init__(
        self,
        hub: HubPort,
        store: Store,
        admission: Admission,
        idempotency: IdempotencyCache,
        models: ModelCatalog,
        retention: Retention,
        keepalive_seconds: float,
        owners: ApiSessions,
    ) -> None:
        self.hub = hub
        self.store = store
        self.owners = owners
        self.admission = admission
        self.idempotency = idempotency
        self.models = models
        self.retention = retention
        self.keepalive_seconds = keepalive_seconds
        self._pruner: asyncio.Task[None] | None = None

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("responses", "POST", "/v1/responses", self.create),
            Endpoint("response", "GET", "/v1/responses/{response_id}", self.read),
            Endpoint("response_delete", "DELETE", "/v1/responses/{response_id}", self.delete),
        ]

    def features(self) -> dict[str, Any]:
        return {"responses_api": True, "responses_streaming": True}

    # -- what /v1/runs uses of it --------------------------------------------------------------------

    async def get_for(self, response_id: str, owner: str | None) -> Chain | None:
        stored = await self._owned(response_id, owner)
        return None if stored is None else await self._chain_from(stored)

    # -- POST /v1/responses --------------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.StreamResponse:
        session_key = session_key_from(request.headers.get(SESSION_KEY_HEADER))
        self.admission.check()
        body = await read_object(request)
        stream = bool_like(body.get("stream", False))
        idempotency_key = request.headers.get(IDEMPOTENCY_HEADER)
        if idempotency_key and not stream:
            caller = caller_of(request)
            scope = ("responses", caller.name, session_key or "", idempotency_key[:MAX_KEY_CHARS])
            print_ = fingerprint(body, _FINGERPRINT_FIELDS)
            return await self.idempotency.answer(
                scope, print_, lambda: self._create(request, body, session_key)
            )
        return await self._create(request, body, session_key)

    async def _create(
        self, request: web.Request, body: dict[str, Any], session_key: str | None
    ) -> web.StreamResponse:
        caller = caller_of(request)
        turn = parse_input(body.get("input"))
        instructions = body.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise bad_request("`instructions` must be a string.", "instructions")
        conversation = body.get("conversation")
        if conversation is not None and (not isinstance(conversation, str) or not conversation):
            raise bad_request(
                "`conversation` must be a non-empty string (a conversation name).", "conversation"
            )
        previous_id = body.get("previous_response_id")
        if previous_id is not None and conversation is not None:
            raise bad_request("Cannot use both `previous_response_id` and `conversation`.", "conversation")
        chain = await self._chain(caller, previous_id, conversation)
        if body.get("conversation_history") is not None:
            history = tuple(m for m in parse_history(body["conversation_history"]) if m.role != "system")
            chain = Chain(os.urandom(16).hex(), history, chain.instructions if chain else None, new=True)
        if chain is None:
            chain = Chain(os.urandom(16).hex(), turn.conversation, None, new=True)
        if instructions is None:
            instructions = chain.instructions
        await claim(self.owners, caller, chain.session_id)
        store = bool_like(body.get("store", True))
        model = body.get("model", self.models.name)
        scope = memory_scope(caller, session_key)
        run = RunRequest(
            session_key=SESSION_KEY_PREFIX + chain.session_id,
            text=turn.text,
            platform=PLATFORM,
            chat_kind="api",
            user_id=PLATFORM,
            images=turn.images,
            model_override=self.models.routed_model(model),
            seed=chain.seed,
            extra_system="\n\n".join(p for p in (turn.system_text, instructions) if p) or None,
            memory_scope=scope,
            store_at_end=True,
            new_session=chain.new,
        )
        builder = ResponseBuilder(
            f"resp_{os.urandom(14).hex()}",
            int(time.time()),
            model,
            instructions,
            previous_id if isinstance(previous_id, str) else None,
            store,
        )
        headers = {SESSION_HEADER: chain.session_id}
        if session_key is not None:
            headers[SESSION_KEY_HEADER] = session_key
        saving = (
            Saving(self.store, caller.name, chain.session_id, instructions, conversation) if store else None
        )
        with self.admission.slot():
            if bool_like(body.get("stream", False)):
                return await self._stream(request, run, builder, headers, saving)
            return await self._json(run, builder, headers, saving)

    async def _chain(self, caller: Caller, previous_id: Any, conversation: str | None) -> Chain | None:
        if previous_id is not None:
            if not isinstance(previous_id, str):
                raise bad_request("`previous_response_id` must be a string.", "previous_response_id")
            stored = await self._owned(previous_id, caller.owner_filter("POST"))
            if stored is None:
                raise response_not_found(previous_id, "previous_response_id")
            return await self._chain_from(stored)
        if conversation is not None:
            latest = await self.store.api_responses.latest_in_conversation(caller.name, conversation)
            return None if latest is None else await self._chain_from(latest)
        return None

    async def _chain_from(self, stored: StoredResponse) -> Chain:
        session = await self.store.sessions.current(SESSION_KEY_PREFIX + stored.session_id)
        if session is not None and session.message_count == stored.message_count:
            return Chain(stored.session_id, (), stored.instructions)
        # The session went on past this response (another branch): fork it where this response left it.
        messages = [] if session is None else await self.store.sessions.messages(session.id)
        seed = tuple(
            ChatMessage(m.role, m.content, tool_calls=tuple(m.tool_calls or ()), tool_call_id=m.tool_call_id)
            for m in messages[: stored.message_count]
        )
        return Chain(os.urandom(16).hex(), seed, stored.instructions, new=True)

    async def _owned(self, response_id: str, owner: str | None) -> StoredResponse | None:
        """The stored response, if `owner` may see it (None: anyone's)."""
        stored = await self.store.api_responses.get(response_id)
        if stored is None or (owner is not None and stored.owner != owner):
            return None
        return stored

    async def _json(
        self, run: RunRequest, builder: ResponseBuilder, headers: dict[str, str], saving: Saving | None
    ) -> web.Response:
        end = await run_to_end(self.hub, run, builder.take)
        builder.finish(end)
        if saving is not None:
            await saving.save(builder)
        return json_response(builder.body(), headers=headers)

    async def _stream(
        self,
        request: web.Request,
        run: RunRequest,
        builder: ResponseBuilder,
        headers: dict[str, str],
        saving: Saving | None,
    ) -> web.StreamResponse:
        stream = EventStream(request, headers, b"", self.keepalive_seconds)
        cancel = asyncio.Event()
        end: Final | Failed | None = None
        try:
            await stream.write(_sse(builder.created()))
            if saving is not None:
                await saving.save(builder)
            async with aclosing(self.hub.run_request(run, cancel)) as events:
                async for event in events:
                    if isinstance(event, Final | Failed):
                        end = event
                    else:
                        await stream.write(_sse(builder.take(event)))
            await stream.finish(_sse(builder.finish(end)))
        except (ConnectionError, asyncio.CancelledError) as gone:
            cancel.set()
            builder.finish(Failed("The client went away.", cancelled=True))
            if saving is not None:
                await asyncio.shield(saving.save(builder))
            if isinstance(gone, asyncio.CancelledError):
                raise
            return stream.response
        finally:
            stream.close()
        if saving is not None:
            await saving.save(builder)
        return stream.response

    # -- GET / DELETE --------------------------------------------------------------------------------

    async def read(self, request: web.Request) -> web.Response:
        response_id = request.match_info["response_id"]
        stored = await self._owned(response_id, caller_of(request).owner_filter(request.method))
        if stored is None:
            raise response_not_found(response_id)
        return json_response(stored.body)

    async def delete(self, request: web.Request) -> web.Response:
        response_id = request.match_info["response_id"]
        caller = caller_of(request)
        if await self._owned(response_id, caller.owner_filter(request.method)) is None:
            raise response_not_found(response_id)
        await self.store.api_responses.delete(response_id)
        log.info("api_server: key %s deleted response %s", caller.name, response_id)
        return json_response({"id": response_id, "object": "response", "deleted": True})

    # -- retention -----------------------------------------------------------------------------------

    def start_pruning(self, every_seconds: float = 3600.0) -> None:
        self._pruner = asyncio.create_task(self._prune_forever(every_seconds), name="api-responses-pruner")

    async def prune(self) -> int:
        older_than = time.time() - self.retention.days * 86400
        removed = 0
        while True:
            batch = await self.store.api_responses.prune(older_than, self.retention.max_responses)
            removed += batch
            if batch == 0:
                return removed
            await asyncio.sleep(0)

    async def _prune_forever(self, every_seconds: float) -> None:
        while True:
            try:
                removed = await self.prune()
            except Exception:
                log.exception("api_server: pruning stored responses failed")
            else:
                if removed:
                    log.info("api_server: pruned %d stored response(s)", removed)
            await asyncio.sleep(every_seconds)

    async def close(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            await asyncio.gather(self._pruner, return_exceptions=True)


@dataclass(frozen=True)
class Saving:
    store: Store
    owner: str
    session_id: str
    instructions: str | None
    conversation: str | None

    async def save(self, builder: ResponseBuilder) -> None:
        session = await self.store.sessions.current(SESSION_KEY_PREFIX + self.session_id)
        await self.store.api_responses.save(
            StoredResponse(
                builder.id,
                self.owner,
                self.session_id,
                session.message_count if session is not None else 0,
                self.instructions,
                self.conversation,
                builder.status,
                json.loads(json.dumps(builder.body())),
                float(builder.created_at),
            )
        )


def _sse(events: list[dict[str, Any]]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
