"""`/api/sessions` (API-CONTRACT §10) over raw HTTP: list (paged), create, read, rename, delete, messages
(paged), fork, and chat (JSON and named-event SSE) on a session."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.fakes.llm import Error, Text

from .conftest import Server, auth, sse_events

HEADER = "X-Hermes-Session-Id"


async def call(
    http: aiohttp.ClientSession, server: Server, method: str, path: str, body: Any = None, **query: Any
) -> tuple[int, Any]:
    async with http.request(
        method, f"{server.url}{path}", json=body, params=query or None, headers=auth()
    ) as response:
        return response.status, await response.json()


async def chat_on(server: Server, session_id: str, text: str) -> None:
    await server.client().chat.completions.create(
        model="hermes-agent", messages=[{"role": "user", "content": text}], extra_headers={HEADER: session_id}
    )


async def test_create_read_rename_delete(server: Server, http: aiohttp.ClientSession) -> None:
    status, created = await call(http, server, "POST", "/api/sessions", {"id": "s-1", "title": "First"})
    assert status == 201 and created["object"] == "hermes.session"
    session = created["session"]
    assert (session["id"], session["title"], session["source"], session["message_count"]) == (
        "s-1",
        "First",
        "api_server",
        0,
    )
    assert (await call(http, server, "POST", "/api/sessions", {"id": "s-1"}))[0] == 409
    status, renamed = await call(http, server, "PATCH", "/api/sessions/s-1", {"title": "Renamed"})
    assert status == 200 and renamed["session"]["title"] == "Renamed"
    status, error = await call(http, server, "PATCH", "/api/sessions/s-1", {"model": "x"})
    assert status == 400 and error["error"]["code"] == "unsupported_session_field"
    status, error = await call(http, server, "PATCH", "/api/sessions/s-1", {"title": "x" * 101})
    assert status == 400 and error["error"]["code"] == "invalid_title"
    status, deleted = await call(http, server, "DELETE", "/api/sessions/s-1")
    assert deleted == {"object": "hermes.session.deleted", "id": "s-1", "deleted": True}
    status, error = await call(http, server, "GET", "/api/sessions/s-1")
    assert status == 404 and error["error"]["code"] == "session_not_found"


async def test_sessions_opened_by_chat_are_listed_with_paging(
    server: Server, http: aiohttp.ClientSession
) -> None:
    for name in ("a", "b", "c"):
        await chat_on(server, f"chat-{name}", f"hello {name}")
    status, page = await call(http, server, "GET", "/api/sessions", limit=2)
    assert status == 200 and page["object"] == "list"
    assert [s["id"] for s in page["data"]] == ["chat-c", "chat-b"]
    assert page["has_more"] is True and page["data"][0]["preview"] == "hello c"
    assert page["data"][0]["message_count"] == 2
    _, rest = await call(http, server, "GET", "/api/sessions", limit=2, offset=2)
    assert [s["id"] for s in rest["data"]] == ["chat-a"] and rest["has_more"] is False
    assert (await call(http, server, "GET", "/api/sessions", limit=500))[0] == 400


async def test_messages_are_paged(server: Server, http: aiohttp.ClientSession) -> None:
    for turn in range(3):
        await chat_on(server, "long", f"turn {turn}")
    _, first = await call(http, server, "GET", "/api/sessions/long/messages", limit=4)
    assert [m["role"] for m in first["data"]] == ["user", "assistant", "user", "assistant"]
    assert first["has_more"] is True and first["session_id"] == "long"
    _, rest = await call(http, server, "GET", "/api/sessions/long/messages", after=first["next_after"])
    assert [m["content"] for m in rest["data"] if m["role"] == "user"] == ["turn 2"]
    assert rest["has_more"] is False


async def test_fork_copies_the_transcript_and_keeps_the_source(
    server: Server, http: aiohttp.ClientSession
) -> None:
    await chat_on(server, "origin", "I like tea.")
    status, forked = await call(http, server, "POST", "/api/sessions/origin/fork", {"id": "branch"})
    assert status == 201 and forked["session"]["parent_session_id"] == "origin"
    assert forked["session"]["message_count"] == 2
    server.llm.script(Text("Tea, you said."))
    await chat_on(server, "branch", "What do I like?")
    users = [m["content"] for m in server.llm.chat_requests[-1].messages if m["role"] == "user"]
    assert users == ["I like tea.", "What do I like?"]
    _, source = await call(http, server, "GET", "/api/sessions/origin")
    assert source["session"]["message_count"] == 2


async def test_chat_on_a_session(server: Server, http: aiohttp.ClientSession) -> None:
    await call(http, server, "POST", "/api/sessions", {"id": "talk"})
    server.llm.script(Text("Hi there."), Error(400, "refused"))
    status, answer = await call(http, server, "POST", "/api/sessions/talk/chat", {"message": "Hello"})
    assert status == 200
    assert answer["object"] == "hermes.session.chat.completion" and answer["session_id"] == "talk"
    assert answer["message"] == {"role": "assistant", "content": "Hi there."}
    assert answer["usage"]["total_tokens"] > 0
    # A failed turn is an error, not a 200 with success flags.
    status, error = await call(http, server, "POST", "/api/sessions/talk/chat", {"message": "Again"})
    assert status == 502 and "refused" in error["error"]["message"]
    status, error = await call(http, server, "POST", "/api/sessions/talk/chat", {})
    assert status == 400 and error["error"]["code"] == "missing_message"
    assert (await call(http, server, "POST", "/api/sessions/nope/chat", {"message": "x"}))[0] == 404


async def test_chat_stream_on_a_session(server: Server, http: aiohttp.ClientSession) -> None:
    await call(http, server, "POST", "/api/sessions", {"id": "streamed"})
    server.llm.script(Text("Streamed reply."))
    async with http.post(
        f"{server.url}/api/sessions/streamed/chat/stream", json={"message": "go"}, headers=auth()
    ) as response:
        assert response.status == 200 and response.headers[HEADER] == "streamed"
        events = sse_events(await response.text())
    names = [name for name, _ in events]
    assert names[:2] == ["run.started", "message.started"]
    assert names[-3:] == ["assistant.completed", "run.completed", "done"]
    payloads = [json.loads(data) for _, data in events]
    assert [p["seq"] for p in payloads] == list(range(1, len(payloads) + 1))
    assert {p["session_id"] for p in payloads} == {"streamed"}
    text = "".join(p["delta"] for name, p in zip(names, payloads, strict=True) if name == "assistant.delta")
    assert text == "Streamed reply."


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([], None),
        ({"id": "bad id"}, None),
        ({"title": 5}, "invalid_title"),
        ({"system_prompt": "x"}, "unsupported_session_field"),
    ],
)
async def test_bad_creates_are_400(
    server: Server, http: aiohttp.ClientSession, body: Any, code: str | None
) -> None:
    status, error = await call(http, server, "POST", "/api/sessions", body)
    assert status == 400 and error["error"]["code"] == code
