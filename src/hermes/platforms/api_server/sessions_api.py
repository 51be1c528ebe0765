"""`/api/sessions` (API-CONTRACT §10): the API server's sessions as resources — list (paged), create, read,
rename, delete, their messages (paged), fork, and one turn of chat (JSON or named-event SSE).

Only the API server's own sessions are served (a person's Matrix or Mattermost conversation is not an API
resource), addressed by the id clients send as `X-Hermes-Session-Id`. A client key sees only the sessions
it opened. Session chat runs under the same cap and per-session order as every other run, and a failed
turn is an error, not a 200 with success flags (§17.18). Forking copies the transcript; the source stays
usable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from contextlib import aclosing
from typing import Any

from aiohttp import web

from hermes.agent.contract import Failed, Final, RunRequest, TextDelta, ToolFinished, ToolStarted
from hermes.platforms.api_server.admission import Admission
from hermes.platforms.api_server.auth import caller_of
from hermes.platforms.api_server.body import read_object
from hermes.platforms.api_server.endpoints import Endpoint, json_response
from hermes.platforms.api_server.errors import ApiError, bad_request, run_failed
from hermes.platforms.api_server.inputs import parse_input
from hermes.platforms.api_server.ownership import session_not_found
from hermes.platforms.api_server.session_headers import (
    PLATFORM,
    SESSION_HEADER,
    SESSION_KEY_HEADER,
    SESSION_KEY_PREFIX,
    memory_scope,
    session_id_from,
    session_key_from,
)
from hermes.platforms.api_server.session_store import ApiSession, ApiSessions
from hermes.platforms.api_server.sse import EventStream
from hermes.platforms.base import HubPort
from hermes.store import NewMessage, Store

log = logging.getLogger(__name__)

MAX_LIMIT = 200
MAX_TITLE_CHARS = 100
_PREVIEW_CHARS = 60


class SessionsApi:
    def __init__(
        self, hub: HubPort, store: Store, owners: ApiSessions, admission: Admission, keepalive_seconds: float
    ) -> None:
        self.hub = hub
        self.store = store
        self.owners = owners
        self.admission = admission
        self.keepalive_seconds = keepalive_seconds

    def endpoints(self) -> list[Endpoint]:
        one = "/api/sessions/{session_id}"
        return [
            Endpoint("sessions", "GET", "/api/sessions", self.list),
            Endpoint("session_create", "POST", "/api/sessions", self.create),
            Endpoint("session", "GET", one, self.read),
            Endpoint("session_update", "PATCH", one, self.update),
            Endpoint("session_delete", "DELETE", one, self.delete),
            Endpoint("session_messages", "GET", f"{one}/messages", self.messages),
            Endpoint("session_fork", "POST", f"{one}/fork", self.fork),
            Endpoint("session_chat", "POST", f"{one}/chat", self.chat),
            Endpoint("session_chat_stream", "POST", f"{one}/chat/stream", self.chat_stream),
        ]

    def features(self) -> dict[str, Any]:
        return {
            "session_resources": True,
            "session_chat": True,
            "session_chat_streaming": True,
            "session_fork": True,
        }

    async def _session(self, request: web.Request) -> ApiSession:
        session_id = request.match_info["session_id"]
        found = await self.owners.get(session_id)
        if found is None or not caller_of(request).sees(found.owner, request.method):
            raise session_not_found(session_id)
        return found

    # -- collection ------------------------------------------------------------------------------------

    async def list(self, request: web.Request) -> web.Response:
        limit = _int_query(request, "limit", 50, 1, MAX_LIMIT)
        offset = _int_query(request, "offset", 0, 0, 1_000_000)
        owner = caller_of(request).owner_filter(request.method)
        found = await self.owners.list(owner, limit + 1, offset)
        data = [await self._object(session, preview=True) for session in found[:limit]]
        return json_response(
            {"object": "list", "data": data, "limit": limit, "offset": offset, "has_more": len(found) > limit}
        )

    async def create(self, request: web.Request) -> web.Response:
        caller = caller_of(request)
        body = await read_object(request)
        if body.get("system_prompt") is not None:
            raise ApiError(
                400,
                "`system_prompt` is not kept per session here; send it as `system_message` with each chat.",
                param="system_prompt",
                code="unsupported_session_field",
            )
        given = body.get("id", body.get("session_id"))
        session_id = session_id_from(given, "id") or f"api_{int(time.time())}_{os.urandom(4).hex()}"
        title = _title(body.get("title"))
        if not await self.owners.create(session_id, caller.name, title):
            raise ApiError(409, f"Session exists: {session_id}", param="id", code="session_exists")
        found = await self.owners.get(session_id)
        assert found is not None
        return json_response({"object": "hermes.session", "session": await self._object(found)}, 201)

    # -- one session ---------------------------------------------------------------------------------

    async def read(self, request: web.Request) -> web.Response:
        found = await self._session(request)
        return json_response({"object": "hermes.session", "session": await self._object(found)})

    async def update(self, request: web.Request) -> web.Response:
        found = await self._session(request)
        body = await read_object(request)
        unknown = sorted(set(body) - {"title", "end_reason"})
        if unknown:
            raise ApiError(
                400,
                f"Only `title` and `end_reason` can be changed, not {', '.join(unknown)}.",
                param=unknown[0],
                code="unsupported_session_field",
            )
        if "title" in body:
            await self.owners.set_title(found.session_id, found.owner, _title(body["title"]))
        if body.get("end_reason"):
            await self.store.sessions.end_current(SESSION_KEY_PREFIX + found.session_id)
        updated = await self.owners.get(found.session_id)
        assert updated is not None
        return json_response({"object": "hermes.session", "session": await self._object(updated)})

    async def delete(self, request: web.Request) -> web.Response:
        found = await self._session(request)
        await self.owners.delete(found.session_id)
        log.info("api_server: key %s deleted session %s", caller_of(request).name, found.session_id)
        return json_response({"object": "hermes.session.deleted", "id": found.session_id, "deleted": True})

    async def messages(self, request: web.Request) -> web.Response:
        found = await self._session(request)
        limit = _int_query(request, "limit", 100, 1, 1000)
        after = _int_query(request, "after", 0, 0, 2**62)
        rows = []
        if found.stored is not None:
            rows = await self.store.sessions.messages(found.stored.id, after_id=after, limit=limit + 1)
        data = [_message(found.session_id, row) for row in rows[:limit]]
        return json_response(
            {
                "object": "list",
                "session_id": found.session_id,
                "data": data,
                "has_more": len(rows) > limit,
                "next_after": data[-1]["id"] if data else None,
            }
        )

    async def fork(self, request: web.Request) -> web.Response:
        source = await self._session(request)
        caller = caller_of(request)
        body = await read_object(request)
        given = body.get("id", body.get("session_id"))
        session_id = session_id_from(given, "id") or f"api_{int(time.time())}_{os.urandom(4).hex()}"
        title = _title(body.get("title")) or f"{source.title or source.session_id} (fork)"[:MAX_TITLE_CHARS]
        if not await self.owners.create(session_id, caller.name, title, source.session_id):
            raise ApiError(409, f"Session exists: {session_id}", param="id", code="session_exists")
        if source.stored is not None:
            rows = await self.store.sessions.messages(source.stored.id)
            copy = await self.store.sessions.get_or_create(
                SESSION_KEY_PREFIX + session_id, platform=PLATFORM, chat_id=SESSION_KEY_PREFIX + session_id
            )
            await self.store.sessions.append(copy.id, [_copy(row) for row in rows])
        forked = await self.owners.get(session_id)
        assert forked is not None
        return json_response({"object": "hermes.session", "session": await self._object(forked)}, 201)

    # -- chat on a session ---------------------------------------------------------------------------

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
        )

    async def chat(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        run = self._run_request(request, session, await read_object(request))
        end: Final | Failed | None = None
        cancel = asyncio.Event()
        with self.admission.slot():
            try:
                async with aclosing(self.hub.run_request(run, cancel)) as events:
                    async for event in events:
                        if isinstance(event, Final | Failed):
                            end = event
            except asyncio.CancelledError:
                cancel.set()
                raise
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

    async def chat_stream(self, request: web.Request) -> web.StreamResponse:
        session = await self._session(request)
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

    async def _object(self, session: ApiSession, *, preview: bool = False) -> dict[str, Any]:
        stored = session.stored
        body: dict[str, Any] = {
            "id": session.session_id,
            "source": PLATFORM,
            "user_id": None if session.owner == "admin" else session.owner,
            "model": stored.model_override if stored is not None else None,
            "title": session.title,
            "started_at": stored.created_at if stored is not None else None,
            "ended_at": None,
            "end_reason": None,
            "message_count": stored.message_count if stored is not None else 0,
            "input_tokens": stored.prompt_tokens if stored is not None else 0,
            "output_tokens": stored.completion_tokens if stored is not None else 0,
            "parent_session_id": session.parent_id,
            "last_active": stored.updated_at if stored is not None else None,
        }
        if preview and stored is not None:
            first = await self.store.sessions.messages(stored.id, limit=4)
            user = next((m.content for m in first if m.role == "user" and m.content), None)
            if user is not None:
                body["preview"] = user if len(user) <= _PREVIEW_CHARS else user[:_PREVIEW_CHARS] + "..."
        return body


def _headers(request: web.Request, session: ApiSession) -> dict[str, str]:
    headers = {SESSION_HEADER: session.session_id}
    key = session_key_from(request.headers.get(SESSION_KEY_HEADER))
    if key is not None:
        headers[SESSION_KEY_HEADER] = key
    return headers


def _title(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value.strip()) > MAX_TITLE_CHARS:
        raise ApiError(
            400,
            f"`title` must be text of at most {MAX_TITLE_CHARS} characters.",
            param="title",
            code="invalid_title",
        )
    return value.strip() or None


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"`{name}` must be a whole number.", name) from None
    if not low <= value <= high:
        raise bad_request(f"`{name}` must be between {low} and {high}.", name)
    return value


def _usage(end: Final) -> dict[str, int]:
    return {
        "input_tokens": end.usage.prompt_tokens,
        "output_tokens": end.usage.completion_tokens,
        "total_tokens": end.usage.prompt_tokens + end.usage.completion_tokens,
    }


def _message(session_id: str, row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "session_id": session_id,
        "role": row.role,
        "content": row.content,
        "tool_call_id": row.tool_call_id,
        "tool_calls": row.tool_calls,
        "tool_name": row.name,
        "timestamp": row.created_at,
        "token_count": row.completion_tokens,
    }


def _copy(row: Any) -> NewMessage:
    return NewMessage(
        role=row.role,
        content=row.content,
        tool_calls=row.tool_calls,
        tool_call_id=row.tool_call_id,
        name=row.name,
        model=row.model,
        metadata=row.metadata,
    )
