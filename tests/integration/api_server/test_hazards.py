"""The reference system's hazards (API-CONTRACT §17), each shown not to happen here. Items tested where the
feature lives: §17.1 in test_scoped_keys, §17.7 and §17.17 in test_responses, §17.9 and §17.12/§17.18 in
test_session_resources, §17.13/§17.15/§17.23 in test_runs, §17.16 in test_chat_contract, §17.20 in
test_sessions, §17.21 in test_discovery."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from hermes.platforms.api_server.idempotency import IdempotencyCache
from hermes.platforms.api_server.runs import RunRegistry
from tests.fakes.llm import Error, Text
from tests.harness.gateway import llm_config

from .conftest import KEY, Server, auth

SECRET = "sk-live-0123456789abcdefghijklmnop"

POSTS = [
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/runs",
    "/api/sessions",
    "/api/jobs",
]


async def test_17_3_a_foreign_origin_is_not_an_auth_failure(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server: Server = await start_server(api_server={"cors_origins": ["https://chat.example.org"]})
    server.llm.script(Text("hello"))
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    headers = auth(Origin="https://tool.example.com")
    async with http.post(f"{server.base_url}/chat/completions", json=body, headers=headers) as response:
        # A non-browser client that sends an Origin is served; the browser gets no CORS grant.
        assert response.status == 200
        assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("stream", [True, False])
async def test_17_4_error_text_is_redacted_on_every_path(
    start_server: Any, llm: Any, http: aiohttp.ClientSession, stream: bool
) -> None:
    server: Server = await start_server(
        config={"model": llm_config(llm.base_url, max_retries=0, api_key=SECRET)}
    )
    llm.script(Error(500, f"upstream rejected key {SECRET}", in_stream=stream))
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    async with http.post(f"{server.base_url}/chat/completions", json=body, headers=auth()) as response:
        raw = await response.read()
    assert b"upstream rejected key" in raw
    assert SECRET.encode() not in raw
    # Never an exception class name as the error type.
    assert b'Error"' not in raw.replace(b"api_error", b"")


async def test_17_5_media_tags_do_not_inline_server_files(server: Server) -> None:
    server.llm.script(Text("Here: MEDIA:/etc/hostname"))
    completion = await server.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": "show me"}]
    )
    assert completion.choices[0].message.content == "Here: MEDIA:/etc/hostname"


@pytest.mark.one_engine("an in-memory registry, no store")
def test_17_6_run_state_is_bounded() -> None:
    now = [1000.0]
    registry = RunRegistry(max_runs=3, max_events=5, retain_seconds=60, clock=lambda: now[0])
    runs = [registry.add(f"run_{i}", "admin", "s", "m") for i in range(3)]
    for run in runs:
        run.set_status("completed")
    live = registry.add("run_live", "admin", "s", "m")
    assert registry.get("run_0") is None and registry.get("run_live") is live
    for index in range(12):
        live.emit("message.delta", delta=str(index))
    events, missed = live.since(0)
    assert len(events) == 5 and missed == 7
    now[0] += 61
    assert registry.get("run_1") is None and registry.get("run_live") is live


@pytest.mark.one_engine("an in-memory cache, no store")
async def test_17_6_the_idempotency_cache_is_bounded() -> None:
    from aiohttp import web

    cache = IdempotencyCache(max_entries=2, ttl_seconds=300)

    async def answer() -> web.Response:
        return web.Response(body=b"{}")

    for key in ("a", "b", "c"):
        await cache.answer(("admin", key), "f", answer)
    assert len(cache._kept) == 2


async def test_17_8_idempotency_is_per_caller(server: Server, http: aiohttp.ClientSession) -> None:
    from tests.integration.api_server.test_scoped_keys import new_key

    other = await new_key(server, "other", "chat")
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    for key in (KEY, other):
        async with http.post(
            f"{server.base_url}/chat/completions", json=body, headers=auth(key, **{"Idempotency-Key": "same"})
        ) as response:
            assert response.status == 200
    assert len(server.llm.chat_requests) == 2


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"17", b"null"])
async def test_17_10_non_object_bodies_are_400(
    server: Server, http: aiohttp.ClientSession, path: str, body: bytes
) -> None:
    headers = auth(**{"Content-Type": "application/json"})
    async with http.post(f"{server.url}{path}", data=body, headers=headers) as response:
        assert response.status == 400
        assert response.headers["Content-Type"].startswith("application/json")
    assert server.llm.chat_requests == []


@pytest.mark.parametrize("path", POSTS)
async def test_17_11_oversized_chunked_bodies_are_413(
    start_server: Any, http: aiohttp.ClientSession, path: str
) -> None:
    server: Server = await start_server(api_server={"max_body_bytes": 2048})
    big = json.dumps({"input": "x" * 5000, "messages": [{"role": "user", "content": "x"}]}).encode()

    async def chunks() -> Any:
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    async with http.post(f"{server.url}{path}", data=chunks(), headers=auth()) as response:
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "too_large"


async def test_17_22_cors_allows_what_the_routes_need(start_server: Any, http: aiohttp.ClientSession) -> None:
    server: Server = await start_server(api_server={"cors_origins": ["https://chat.example.org"]})
    preflight = {
        "Origin": "https://chat.example.org",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "x-hermes-session-key",
    }
    async with http.options(f"{server.url}/api/sessions/s-1", headers=preflight) as response:
        assert response.status == 204
        assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
        assert "DELETE" in response.headers["Access-Control-Allow-Methods"]
        allowed = response.headers["Access-Control-Allow-Headers"]
        for header in ("X-Hermes-Session-Id", "X-Hermes-Session-Key", "Idempotency-Key", "Last-Event-ID"):
            assert header in allowed
    server.llm.script(Text("hi"))
    async with http.post(
        f"{server.url}/v1/runs", json={"input": "hi"}, headers=auth(Origin="https://chat.example.org")
    ) as response:
        run_id = (await response.json())["run_id"]
        assert "X-Hermes-Session-Id" in response.headers["Access-Control-Expose-Headers"]
    async with http.get(
        f"{server.url}/v1/runs/{run_id}/events", headers=auth(Origin="https://chat.example.org")
    ) as response:
        # CORS on every SSE endpoint too.
        assert response.headers["Access-Control-Allow-Origin"] == "https://chat.example.org"
        await response.read()
