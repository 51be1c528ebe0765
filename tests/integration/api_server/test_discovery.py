"""What a client asks first: `/v1/capabilities` (held to what the typed third-party client checks,
API-CONTRACT §5 and §18.1), `/health/detailed` (§11), `/v1/skills` and `/v1/toolsets` (§12)."""

from __future__ import annotations

import aiohttp

from .conftest import Server, auth


async def get(
    http: aiohttp.ClientSession, server: Server, path: str
) -> tuple[int, dict, aiohttp.ClientResponse]:
    async with http.get(f"{server.url}{path}", headers=auth()) as response:
        return response.status, await response.json(), response


async def test_capabilities_satisfy_the_third_party_client(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.url}/v1/capabilities", headers=auth(), allow_redirects=False) as response:
        assert response.status == 200
        raw = await response.read()
        length = response.headers.get("Content-Length")
    assert length is not None and length.isdigit() and int(length) <= 65_536
    assert len(raw) <= 65_536
    body = await response.json()
    assert body["object"] == "hermes.api_server.capabilities"
    assert body["platform"] == "hermes-agent"
    assert body["model"] == "hermes-agent"
    assert body["auth"] == {"type": "bearer", "required": True}
    features = body["features"]
    assert features["chat_completions"] is True
    assert features["chat_completions_streaming"] is True
    assert features["session_continuity_header"] == "X-Hermes-Session-Id"
    assert features["session_key_header"] == "X-Hermes-Session-Key"


async def test_capabilities_are_truthful(server: Server, http: aiohttp.ClientSession) -> None:
    _, body, _ = await get(http, server, "/v1/capabilities")
    # Every advertised endpoint answers something other than 404/405 with the key.
    for name, endpoint in body["endpoints"].items():
        path = endpoint["path"].replace("{run_id}", "run_x").replace("{session_id}", "s-x")
        async with http.request(
            endpoint["method"], f"{server.url}{path}", headers=auth(), json={}
        ) as response:
            assert response.status != 405, name
            if "{" not in endpoint["path"]:
                assert response.status != 404, name
    # Features of surfaces with no route are false.
    mounted = {e["path"] for e in body["endpoints"].values()}
    assert body["features"]["responses_api"] == ("/v1/responses" in mounted)
    assert body["features"]["run_submission"] == ("/v1/runs" in mounted)
    assert body["features"]["cors"] is False
    assert body["features"]["audio_api"] is False


async def test_capabilities_need_the_key(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{server.url}/v1/capabilities") as response:
        assert response.status == 401


async def test_capabilities_report_the_configured_model_name(
    start_server, http: aiohttp.ClientSession
) -> None:
    server: Server = await start_server(api_server={"model_name": "my-agent", "cors_origins": ["https://ui"]})
    _, body, _ = await get(http, server, "/v1/capabilities")
    assert body["model"] == "my-agent"
    assert body["features"]["cors"] is True


async def test_health_detailed(server: Server, http: aiohttp.ClientSession) -> None:
    status, body, _ = await get(http, server, "/health/detailed")
    assert status == 200
    assert body["status"] == body["readiness"]["status"]
    checks = body["readiness"]["checks"]
    assert set(checks) == {"state_db", "config", "model", "disk", "gateway", "background_queues"}
    assert checks["state_db"] == {"status": "ok"}
    assert checks["model"]["status"] == "ok"
    assert 0 <= checks["disk"]["used_percent"] <= 100 and checks["disk"]["free_bytes"] > 0
    assert checks["gateway"] == {"status": "ok", "state": "running", "connected_platforms": 1, "platforms": 1}
    assert checks["background_queues"]["active_api_runs"] == 0
    assert body["platforms"]["api_server"]["state"] == "connected"
    assert body["gateway_state"] == "running"
    assert body["active_agents"] == 0 and body["gateway_busy"] is False
    assert isinstance(body["pid"], int)
    async with http.get(f"{server.url}/health/detailed") as response:
        assert response.status == 401


async def test_skills_are_listed_by_category_then_name(server: Server, http: aiohttp.ClientSession) -> None:
    for category, name in (("writing", "poems"), ("devops", "deploy"), ("devops", "backup")):
        folder = server.home / "skills" / category / name
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_text(f"---\nname: {name}\ndescription: How to {name}.\n---\nSteps.\n")
    status, body, _ = await get(http, server, "/v1/skills")
    assert status == 200 and body["object"] == "list"
    assert [(s["category"], s["name"], s["description"]) for s in body["data"]] == [
        ("devops", "backup", "How to backup."),
        ("devops", "deploy", "How to deploy."),
        ("writing", "poems", "How to poems."),
    ]


async def test_toolsets_list_the_tool_families(start_server, http: aiohttp.ClientSession) -> None:
    server: Server = await start_server(config={"tools": {"disabled": ["api_server:web_*"]}})
    status, body, _ = await get(http, server, "/v1/toolsets")
    assert status == 200
    assert body["object"] == "list" and body["platform"] == "api_server"
    by_name = {t["name"]: t for t in body["data"]}
    assert "memory" in by_name["memory"]["tools"]
    assert by_name["memory"]["enabled"] is True
    assert by_name["web"]["enabled"] is False
    for toolset in body["data"]:
        assert set(toolset) == {"name", "label", "description", "enabled", "configured", "tools"}
        assert toolset["tools"] == sorted(toolset["tools"])
