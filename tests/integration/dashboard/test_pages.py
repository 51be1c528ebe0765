"""The dashboard's pages over HTTP, without a browser: what a bad request gets, and what stays unchanged."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hermes.config import load_config
from hermes.dashboard.app import create_app
from hermes.dashboard.context import Dashboard
from hermes.dashboard.security import Guard
from hermes.store import NewMessage, Store
from tests.harness.gateway import write_home


class Client:
    def __init__(self, client: TestClient) -> None:
        self.http = client
        self.csrf = ""

    async def get(self, path: str, **kwargs: object):  # type: ignore[no-untyped-def]
        response = await self.http.get(path, **kwargs)
        text = await response.text()
        found = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', text)
        if found:
            self.csrf = found.group(1)
        return response, text

    async def post(self, path: str, data: dict[str, str] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
        response = await self.http.post(path, data={"_csrf": self.csrf, **(data or {})}, **kwargs)
        return response, await response.text()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return write_home(
        tmp_path / "home", config={"model": {"provider": "custom", "base_url": "http://127.0.0.1:9"}}
    )


async def open_client(home: Path, *, tui: bool = True, token: str | None = None) -> AsyncIterator[Client]:
    config = load_config({"HERMES_HOME": str(home)})
    app = create_app(Dashboard.create(config, tui=tui), Guard(token, loopback_only=True))
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        client = Client(http)
        await client.get("/")
        yield client


@pytest.fixture
async def client(home: Path) -> AsyncIterator[Client]:
    async for opened in open_client(home):
        yield opened


async def seeded(home: Path) -> tuple[str, str]:
    async with await Store.open(home / "state.db") as store:
        session = await store.sessions.get_or_create("api:dm:alice", platform="api_server", chat_id="alice")
        await store.sessions.append(
            session.id,
            [
                NewMessage("user", "what is in /etc?"),
                NewMessage(
                    "assistant",
                    None,
                    tool_calls=[
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "list_dir", "arguments": '{"path": "/etc"}'},
                        }
                    ],
                ),
                NewMessage("tool", "hosts\npasswd", tool_call_id="c1", name="list_dir"),
                NewMessage("assistant", "hosts and passwd", prompt_tokens=120, completion_tokens=8),
            ],
        )
        job = await store.jobs.create(
            name="digest",
            schedule_kind="interval",
            schedule_value="3600",
            prompt="p",
            target="home:mattermost",
            next_run_at=time.time() + 3600,
        )
    return session.id, job.id


async def test_a_transcript_shows_tool_calls_and_results_and_exports(home: Path) -> None:
    session_id, _ = await seeded(home)
    async for client in open_client(home):
        response, html = await client.get(f"/sessions/{session_id}")
        assert response.status == 200
        assert "list_dir" in html and "{&#34;path&#34;: &#34;/etc&#34;}" in html and "hosts\npasswd" in html
        response, body = await client.get(f"/sessions/{session_id}/export?format=json")
        assert response.headers["Content-Disposition"] == f'attachment; filename="session-{session_id}.json"'
        assert [m["role"] for m in json.loads(body)["messages"]] == ["user", "assistant", "tool", "assistant"]
        response, body = await client.get(f"/sessions/{session_id}/export")
        assert body.startswith(f"# Session {session_id}")
        response, html = await client.get("/sessions?user=alice&platform=api_server")
        assert "api:dm:alice" in html
        response, html = await client.get("/sessions?user=bob")
        assert "No sessions." in html
        response, _ = await client.post(f"/sessions/{session_id}/delete")
        assert response.status == 200 and response.url.path == "/sessions"
        response, _ = await client.get(f"/sessions/{session_id}")
        assert response.status == 404


async def test_a_long_transcript_comes_in_pages_and_a_search_hit_opens_its_page(home: Path) -> None:
    async with await Store.open(home / "state.db") as store:
        session = await store.sessions.get_or_create("api:dm:carol", platform="api_server", chat_id="carol")
        rows = [NewMessage("user", f"message number {n}") for n in range(450)]
        rows[321] = NewMessage("user", "the zebra crossing")
        stored = await store.sessions.append(session.id, rows)
    async for client in open_client(home):
        _, first = await client.get(f"/sessions/{session.id}")
        assert "message number 0<" in first and "message number 199<" in first
        assert "message number 200<" not in first and "transcript-start" not in first
        later = re.search(r'href="(/sessions/[^"]+\?from=\d+)" id="transcript-later"', first)
        assert later is not None
        _, second = await client.get(later.group(1).replace("&amp;", "&"))
        assert "message number 199<" not in second and "message number 200<" in second
        assert "message number 399<" in second and "transcript-start" in second
        _, found = await client.get("/sessions?q=zebra")
        link = re.search(r'href="(/sessions/[^"#]+)#m(\d+)"', found)
        assert link is not None and int(link.group(2)) == stored[321].id
        _, page = await client.get(link.group(1))
        assert f'id="m{stored[321].id}"' in page and "message number 320<" not in page
        # A page start that is not a number is the first page, not an error.
        response, html = await client.get(f"/sessions/{session.id}?from=soon")
        assert response.status == 200 and "message number 0<" in html


async def test_bad_requests_get_a_clear_answer_and_change_nothing(home: Path) -> None:
    _, job_id = await seeded(home)
    async for client in open_client(home):
        for path, status, says in [
            ("/sessions/nope", 404, "No session 'nope'"),
            ("/logs?level=LOUD", 400, "level must be one of DEBUG"),
            ("/metrics?range=1y", 400, "range must be one of 1h, 24h, 7d"),
            ("/skills/none/here", 404, "No skill none/here"),
        ]:
            response, text = await client.get(path)
            assert (response.status, says in text) == (status, True), (path, text)
        response, html = await client.post("/cron", {"schedule": "whenever", "to": "home:x", "prompt": "p"})
        assert response.status == 400 and "whenever" in html and 'value="home:x"' in html
        response, html = await client.post(f"/cron/{job_id}/run")
        assert response.status == 409 and "The gateway is not running" in html
        response, text = await client.post(f"/cron/{job_id}/explode")
        assert response.status == 404
        response, text = await client.post("/memory/NOTES.md", {"text": "x", "base": ""})
        assert response.status == 404 and "only MEMORY.md, USER.md and SOUL.md" in text
        response = await client.http.post("/chat/send", headers={"X-CSRF-Token": client.csrf}, data="[1]")
        assert response.status == 400 and "JSON object" in await response.text()
        response = await client.http.post(
            "/chat/send",
            headers={"X-CSRF-Token": client.csrf},
            json={"session": "0123456789abcdef", "text": "hi"},
        )
        events = [
            json.loads(line[6:]) for line in (await response.text()).splitlines() if line.startswith("data: ")
        ]
        assert events == [
            {"type": "failed", "message": "the gateway is not running. Start it with `hermes gateway run`."}
        ]
        response = await client.http.post(
            "/chat/approve", headers={"X-CSRF-Token": client.csrf}, json={"id": "x", "approve": True}
        )
        assert response.status == 503
    async with await Store.open(home / "state.db") as store:
        assert [job.name for job in await store.jobs.all()] == ["digest"]


async def test_the_chat_page_is_off_without_tui(home: Path) -> None:
    async for client in open_client(home, tui=False):
        response, text = await client.get("/chat")
        assert response.status == 404 and "HERMES_DASHBOARD_TUI=1" in text
        _, html = await client.get("/")
        assert 'href="/chat"' not in html


async def test_another_host_name_is_refused_on_a_loopback_bind(client: Client) -> None:
    """DNS rebinding: a web page whose name resolves to 127.0.0.1 must not read the dashboard."""
    response, text = await client.get("/", headers={"Host": "evil.example:8080"})
    assert response.status == 421 and "only on localhost" in text
    response, _ = await client.get("/", headers={"Host": "localhost:8080"})
    assert response.status == 200


async def test_pages_work_before_state_db_exists_and_do_not_create_it(home: Path, client: Client) -> None:
    for path in ("/", "/sessions", "/cron", "/metrics", "/memory", "/config", "/logs", "/skills"):
        response, _ = await client.get(path)
        assert response.status == 200, path
    assert not (home / "state.db").exists()
    response, html = await client.post(
        "/cron", {"schedule": "every 2h", "to": "home:mattermost", "prompt": "hi"}
    )
    assert response.status == 200 and "Added job" in html
    assert (home / "state.db").exists()


async def test_every_response_carries_the_content_security_policy(client: Client) -> None:
    for path in ("/", "/static/dashboard.js", "/sessions/none"):
        response, _ = await client.get(path)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"], path
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


async def test_config_flags_unknown_keys_and_says_where_values_came_from(tmp_path: Path) -> None:
    home = write_home(
        tmp_path / "home",
        config={
            "model": {"provider": "custom", "base_url": "http://127.0.0.1:9"},
            "matrix": {"requre_mention": 1},
        },
        env={"MATTERMOST_URL": "http://mm.example", "MATTERMOST_TOKEN": "mm-secret-token-123"},
    )
    async for client in open_client(home):
        _, html = await client.get("/config")
    assert "unknown keys ignored: matrix.requre_mention" in html and 'class="warn flagged"' in html
    assert re.search(r"<code>model.provider</code></td><td>&#34;custom&#34;</td><td[^>]*>config.yaml<", html)
    assert re.search(
        r"<code>mattermost.url</code></td><td>&#34;http://mm.example&#34;</td><td[^>]*>\.env<", html
    )
    assert "mm-secret-token-123" not in html


async def test_each_persons_memory_is_one_click_away_and_saved_in_their_folder(home: Path) -> None:
    person = home / "memories" / "users" / "mattermost_bob-0123456789"
    person.mkdir(parents=True)
    (person / "MEMORY.md").write_text("Bob prefers metric units.\n")
    async for client in open_client(home):
        _, html = await client.get("/memory")
        assert 'href="/memory?person=mattermost_bob-0123456789"' in html
        _, html = await client.get("/memory?person=mattermost_bob-0123456789")
        assert "Bob prefers metric units." in html and "SOUL.md" not in html
        base = re.search(r'name="base" value="([0-9a-f]+)"', html)
        assert base is not None
        response, html = await client.post(
            "/memory/MEMORY.md?person=mattermost_bob-0123456789",
            {"text": "Bob prefers imperial units now.", "base": base.group(1)},
        )
        assert response.status == 200 and "Saved MEMORY.md." in html
        assert response.url.query["person"] == "mattermost_bob-0123456789"
        for wanted in ("nobody", "..", "../.."):
            response, text = await client.get(f"/memory?person={wanted}")
            assert response.status == 404 and "No memory of a person" in text
        response, _ = await client.post("/memory/MEMORY.md?person=..", {"text": "x", "base": ""})
        assert response.status == 404
    assert (person / "MEMORY.md").read_text() == "Bob prefers imperial units now.\n"
    assert not (home / "memories" / "MEMORY.md").exists()
