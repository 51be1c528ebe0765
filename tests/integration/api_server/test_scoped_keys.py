"""Named client keys with scopes (ours; the reference has one all-powerful key, API-CONTRACT §17.1):
created with `hermes api keys create`, stored hashed, working at once; a `chat` key sees only what it
created; deletions and approvals are logged with the key's name; a revoked key stops working."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest
from typer.testing import CliRunner

from hermes.cli.app import app
from hermes.store.connection import Connection
from tests.fakes.llm import Text

from .conftest import KEY, Server, auth

HEADER = "X-Hermes-Session-Id"

TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
}


async def everything_stored(server: Server) -> str:
    """Every row of every table, as text."""

    def dump(conn: Connection) -> str:
        tables = [row[0] for row in conn.execute(TABLES[server.store.db.dialect.name])]
        return "\n".join(
            repr(tuple(row)) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"')
        )

    return await server.store.db.run(dump)


async def hermes(server: Server, *args: str) -> Any:
    def invoke() -> Any:
        return CliRunner().invoke(app, list(args), env={"HERMES_HOME": str(server.home)})

    return await asyncio.to_thread(invoke)


async def new_key(server: Server, name: str, *scopes: str) -> str:
    options = [option for scope in scopes for option in ("--scope", scope)]
    result = await hermes(server, "api", "keys", "create", name, *options)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


async def call(
    http: aiohttp.ClientSession,
    server: Server,
    key: str,
    method: str,
    path: str,
    body: Any = None,
    **headers: str,
) -> tuple[int, Any]:
    async with http.request(
        method, f"{server.url}{path}", json=body, headers=auth(key, **headers)
    ) as response:
        return response.status, await response.json()


def chat_body(text: str) -> dict[str, Any]:
    return {"model": "hermes-agent", "messages": [{"role": "user", "content": text}]}


async def test_keys_are_stored_hashed_and_listed(server: Server) -> None:
    secret = await new_key(server, "ci", "chat")
    assert secret.startswith("hermes-") and len(secret) > 40
    dump = await everything_stored(server)
    assert "'ci'" in dump and secret not in dump
    listed = await hermes(server, "api", "keys", "list")
    assert "ci" in listed.stdout and "chat" in listed.stdout and secret not in listed.stdout
    assert (await hermes(server, "api", "key")).stdout.strip() == KEY


async def test_a_chat_key_sees_only_its_own_sessions(server: Server, http: aiohttp.ClientSession) -> None:
    alice = await new_key(server, "alice", "chat")
    bob = await new_key(server, "bob", "chat")
    assert (
        await call(http, server, KEY, "POST", "/v1/chat/completions", chat_body("admin's"), **{HEADER: "adm"})
    )[0] == 200
    assert (
        await call(http, server, alice, "POST", "/v1/chat/completions", chat_body("hi"), **{HEADER: "al"})
    )[0] == 200
    _, listed = await call(http, server, alice, "GET", "/api/sessions")
    assert [s["id"] for s in listed["data"]] == ["al"]
    _, everything = await call(http, server, KEY, "GET", "/api/sessions")
    assert {s["id"] for s in everything["data"]} == {"al", "adm"}
    # Bob can neither read nor continue Alice's session, nor the admin's.
    for session_id in ("al", "adm"):
        assert (await call(http, server, bob, "GET", f"/api/sessions/{session_id}"))[0] == 404
        status, error = await call(
            http, server, bob, "POST", "/v1/chat/completions", chat_body("sneak"), **{HEADER: session_id}
        )
        assert status == 404 and error["error"]["code"] == "session_not_found"
    assert "sneak" not in str([r.messages for r in server.llm.chat_requests])


async def test_responses_and_runs_are_private_to_their_key(
    server: Server, http: aiohttp.ClientSession
) -> None:
    alice = await new_key(server, "alice", "chat")
    bob = await new_key(server, "bob", "chat")
    _, response = await call(http, server, alice, "POST", "/v1/responses", {"input": "hi"})
    assert (await call(http, server, bob, "GET", f"/v1/responses/{response['id']}"))[0] == 404
    status, _ = await call(
        http, server, bob, "POST", "/v1/responses", {"input": "x", "previous_response_id": response["id"]}
    )
    assert status == 404
    assert (await call(http, server, alice, "GET", f"/v1/responses/{response['id']}"))[0] == 200
    _, run = await call(http, server, alice, "POST", "/v1/runs", {"input": "hi"})
    assert (await call(http, server, bob, "GET", f"/v1/runs/{run['run_id']}"))[0] == 404
    assert (await call(http, server, bob, "POST", f"/v1/runs/{run['run_id']}/stop"))[0] == 404


async def test_scopes_limit_what_a_key_may_do(server: Server, http: aiohttp.ClientSession) -> None:
    reader = await new_key(server, "dashboard", "read")
    chatter = await new_key(server, "bot", "chat")
    await call(http, server, chatter, "POST", "/v1/chat/completions", chat_body("hi"), **{HEADER: "bots"})
    status, error = await call(http, server, reader, "POST", "/v1/chat/completions", chat_body("hi"))
    assert status == 403 and error["error"]["code"] == "insufficient_scope"
    _, listed = await call(http, server, reader, "GET", "/api/sessions")
    assert [s["id"] for s in listed["data"]] == ["bots"]
    assert (await call(http, server, reader, "DELETE", "/api/sessions/bots"))[0] == 403
    assert (await call(http, server, reader, "GET", "/health/detailed"))[0] == 200
    assert (await call(http, server, chatter, "GET", "/health/detailed"))[0] == 403
    assert (await call(http, server, chatter, "GET", "/v1/capabilities"))[0] == 200


async def test_deletions_are_logged_with_the_key_name(
    server: Server, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await new_key(server, "alice", "chat")
    await call(http, server, alice, "POST", "/v1/chat/completions", chat_body("hi"), **{HEADER: "mine"})
    with caplog.at_level(logging.INFO, logger="hermes.platforms.api_server"):
        assert (await call(http, server, alice, "DELETE", "/api/sessions/mine"))[0] == 200
    assert "key alice deleted session mine" in caplog.text


async def test_a_revoked_key_stops_working_at_once(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Text("ok"))
    secret = await new_key(server, "temp", "chat")
    assert (await call(http, server, secret, "GET", "/v1/models"))[0] == 200
    assert (await hermes(server, "api", "keys", "revoke", "temp")).exit_code == 0
    status, error = await call(http, server, secret, "GET", "/v1/models")
    assert status == 401 and error["error"]["code"] == "invalid_api_key"
    assert (await hermes(server, "api", "keys", "revoke", "temp")).exit_code == 1
    assert (await hermes(server, "api", "keys", "create", "x", "--scope", "root")).exit_code == 1
