"""`/api/sessions` (API-CONTRACT §10): the API server's sessions as resources — list (paged), create, read,
rename, delete, their messages (paged), fork, and one turn of chat (`session_chat.py`).

Only the API server's own sessions are served (a person's Matrix or Mattermost conversation is not an API
resource), addressed by the id clients send as `X-Hermes-Session-Id`. A client key sees only the sessions
it opened. Forking copies the transcript; the source stays usable.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from aiohttp import web

from hermes.platforms.api_server.admission import Admission
from hermes.platforms.api_server.auth import caller_of
from hermes.platforms.api_server.body import read_object
from hermes.platforms.api_server.endpoints import Endpoint, json_response
from hermes.platforms.api_server.errors import ApiError, bad_request
from hermes.platforms.api_server.ownership import session_not_found
from hermes.platforms.api_server.session_chat import SessionChat
from hermes.platforms.api_server.session_headers import (
    PLATFORM,
    SESSION_KEY_PREFIX,
    session_id_from,
)
from hermes.platforms.api_server.session_store import ApiSession, ApiSessions
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
        self.store = store
        self.owners = owners
        self.chat = SessionChat(hub, admission, keepalive_seconds, self._session)

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
            Endpoint("session_chat", "POST", f"{one}/chat", self.chat.answer),
            Endpoint("session_chat_stream", "POST", f"{one}/chat/stream", self.chat.stream),
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
