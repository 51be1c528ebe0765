"""Health, metrics, CORS and binding: the routes and headers around the chat endpoint."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest

from hermes import __version__
from tests.fakes.hub import FakeHub
from tests.fakes.llm import Error, Text

from .conftest import KEY, Server, auth

USER = [{"role": "user", "content": "hi"}]


async def test_health_needs_no_key(server: Server, http: aiohttp.ClientSession) -> None:
    for path in ("/health", "/v1/health"):
        async with http.get(f"{server.url}{path}") as response:
            assert response.status == 200
            assert await response.json() == {
                "status": "ok",
                "platform": "hermes-gateway",
                "version": __version__,
            }


async def test_models_need_the_key(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{server.base_url}/models") as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    async with http.get(f"{server.base_url}/models", headers={"Authorization": f"Basic {KEY}"}) as response:
        assert response.status == 401
    async with http.get(f"{server.base_url}/models", headers={"Authorization": f"bearer {KEY}"}) as response:
        assert response.status == 200


async def test_metrics_are_behind_the_key(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Text("counted"), Error(503, "provider down"))
    client = server.client()
    await client.chat.completions.create(model="hermes-agent", messages=USER)
    with pytest.raises(Exception, match="502"):
        await client.chat.completions.create(model="hermes-agent", messages=USER)
    async with http.get(f"{server.url}/metrics") as response:
        assert response.status == 401
    async with http.get(f"{server.url}/metrics", headers=auth()) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    assert 'hermes_api_requests_total{route="/v1/chat/completions",status="200"} 1.0' in text
    assert 'hermes_api_requests_total{route="/v1/chat/completions",status="502"} 1.0' in text
    assert 'hermes_api_requests_total{route="/metrics",status="401"} 1.0' in text
    assert 'hermes_api_provider_errors_total{status="503"} 1.0' in text
    assert "hermes_api_runs_in_flight 0.0" in text
    assert 'hermes_api_request_duration_seconds_count{route="/v1/chat/completions"} 2.0' in text
    completion_tokens = next(
        line for line in text.splitlines() if line.startswith('hermes_api_tokens_total{kind="completion"}')
    )
    assert float(completion_tokens.split()[-1]) > 0


async def test_public_metrics(start_server: Any, http: aiohttp.ClientSession) -> None:
    server: Server = await start_server(api_server={"metrics_public": True})
    async with http.get(f"{server.url}/metrics") as response:
        assert response.status == 200
    async with http.get(f"{server.base_url}/models") as response:
        assert response.status == 401


async def test_cors_only_for_configured_origins(start_server: Any, http: aiohttp.ClientSession) -> None:
    server: Server = await start_server(api_server={"cors_origins": ["https://chat.example.org"]})
    allowed, other = {"Origin": "https://chat.example.org"}, {"Origin": "https://evil.example.com"}
    async with http.get(f"{server.base_url}/models", headers=auth(**allowed)) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "https://chat.example.org"
        assert "X-Hermes-Session-Id" in response.headers["Access-Control-Expose-Headers"]
    async with http.get(f"{server.base_url}/models", headers=auth(**other)) as response:
        assert response.status == 200
        assert "Access-Control-Allow-Origin" not in response.headers
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    async with http.options(
        f"{server.base_url}/chat/completions", headers={**allowed, **preflight}
    ) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "https://chat.example.org"
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    async with http.options(
        f"{server.base_url}/chat/completions", headers={**other, **preflight}
    ) as response:
        assert response.status == 403
        assert "Access-Control-Allow-Origin" not in response.headers
    # Streams get the header too.
    server.llm.script(Text("cors stream"))
    async with http.post(
        f"{server.base_url}/chat/completions",
        json={"model": "hermes-agent", "messages": USER, "stream": True},
        headers=auth(**allowed),
    ) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "https://chat.example.org"
        await response.read()


async def test_no_cors_headers_without_configured_origins(
    server: Server, http: aiohttp.ClientSession
) -> None:
    origin = {"Origin": "https://chat.example.org"}
    async with http.get(f"{server.base_url}/models", headers=auth(**origin)) as response:
        assert "Access-Control-Allow-Origin" not in response.headers
    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    async with http.options(f"{server.base_url}/chat/completions", headers=preflight) as response:
        assert response.status == 401


async def test_loopback_bind_does_not_warn(start_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hermes.platforms.api_server"):
        await start_server()
    assert [r for r in caplog.records if "reachable from the network" in r.getMessage()] == []


async def test_non_loopback_bind_warns_once(
    start_server: Any, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hermes.platforms.api_server"):
        server: Server = await start_server(api_server={"host": "0.0.0.0"})
    warnings = [r for r in caplog.records if "reachable from the network" in r.getMessage()]
    assert len(warnings) == 1
    assert "key is all that protects" in warnings[0].getMessage()
    assert KEY not in caplog.text
    async with http.get(f"http://127.0.0.1:{server.platform.port}/health") as response:
        assert response.status == 200


async def test_port_in_use_fails_start_without_leaking(start_server: Any, server: Server) -> None:
    with pytest.raises(OSError):
        await start_server(api_server={"port": server.platform.port})


async def test_unexpected_errors_are_a_500_envelope_and_the_server_carries_on(
    server: Server, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    chat = server.platform.chat
    assert chat is not None
    chat.hub = FakeHub(run_error=RuntimeError("a bug behind the handler"))
    body = {"model": "hermes-agent", "messages": USER}
    with caplog.at_level(logging.ERROR, logger="hermes.platforms.api_server"):
        async with http.post(f"{server.base_url}/chat/completions", json=body, headers=auth()) as response:
            assert response.status == 500
            error = (await response.json())["error"]
    assert error["type"] == "api_error" and "a bug" not in error["message"]
    assert "a bug behind the handler" in caplog.text
    assert server.runs_in_flight() == 0
    chat.hub = server.hub
    server.llm.script(Text("recovered"))
    completion = await server.client().chat.completions.create(model="hermes-agent", messages=USER)
    assert completion.choices[0].message.content == "recovered"
