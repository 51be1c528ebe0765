"""`hermes sessions list|show|export|rm` over a real state.db."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hermes.cli.app import app
from hermes.store import NewMessage, Store


async def _populate(db: Path) -> dict[str, str]:
    async with await Store.open(db) as store:
        dm = await store.sessions.get_or_create("matrix:dm:!room", platform="matrix", chat_id="!room")
        await store.sessions.append(
            dm.id,
            [
                NewMessage("user", "what is the capital of France?", prompt_tokens=12),
                NewMessage(
                    "assistant",
                    None,
                    tool_calls=[{"id": "c1", "function": {"name": "web_search", "arguments": '{"q": "x"}'}}],
                ),
                NewMessage("tool", "Paris", tool_call_id="c1", name="web_search"),
                NewMessage("assistant", "Paris.", completion_tokens=3),
            ],
        )
        await store.sessions.set_title(dm.id, "Capital of France")
        key = "mattermost:channel:c1"
        channel = await store.sessions.get_or_create(key, platform="mattermost", chat_id="c1")
        await store.sessions.append(channel.id, [NewMessage("user", "hello")])
        await store.sessions.end_current(key)
        return {"dm": dm.id, "channel": channel.id}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    root.mkdir()
    return root


@pytest.fixture
def ids(home: Path) -> dict[str, str]:
    return asyncio.run(_populate(home / "state.db"))


def run(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["sessions", *args], env={"HERMES_HOME": str(home), "COLUMNS": "300"})
    return result.exit_code, result.output


def test_list(home: Path, ids: dict[str, str]) -> None:
    code, out = run(home, "list")
    assert code == 0, out
    assert ids["dm"] in out and "matrix:dm:!room" in out and ids["channel"] in out
    assert "Capital of France" in out
    code, out = run(home, "list", "--open")
    assert ids["dm"] in out and ids["channel"] not in out
    code, out = run(home, "list", "--platform", "mattermost")
    assert ids["channel"] in out and ids["dm"] not in out


def test_without_state_db_nothing_is_created(home: Path) -> None:
    assert run(home, "list") == (0, "No sessions.\n")
    code, out = run(home, "show", "abc")
    assert code == 1 and "No sessions yet" in out
    assert not (home / "state.db").exists()


def test_show_by_a_unique_prefix(home: Path, ids: dict[str, str]) -> None:
    prefix = next(ids["dm"][:n] for n in range(4, 17) if not ids["channel"].startswith(ids["dm"][:n]))
    code, out = run(home, "show", prefix)
    assert code == 0, out
    assert out.startswith(f"# Session {ids['dm']}\n")
    assert "## user — " in out and "what is the capital of France?" in out
    assert '_tool calls: web_search({"q": "x"})_' in out
    assert "## tool (web_search) — " in out and "Paris." in out
    assert "12 prompt and 3 completion tokens" in out


def test_an_unknown_or_ambiguous_id(home: Path, ids: dict[str, str]) -> None:
    code, out = run(home, "show", "zzzz")
    assert code == 1 and "no session 'zzzz'" in out
    code, out = run(home, "show", "")
    assert code == 1 and "2 sessions start with ''" in out


def test_export_json_and_markdown_to_a_file(home: Path, ids: dict[str, str], tmp_path: Path) -> None:
    code, out = run(home, "export", ids["dm"], "--format", "json")
    assert code == 0, out
    document = json.loads(out)
    assert document["session"]["key"] == "matrix:dm:!room"
    assert [m["role"] for m in document["messages"]] == ["user", "assistant", "tool", "assistant"]
    target = tmp_path / "out.md"
    code, out = run(home, "export", ids["channel"], "-o", str(target))
    assert code == 0 and f"Wrote session {ids['channel']}" in out
    assert "hello" in target.read_text() and "ended" in target.read_text()
    code, out = run(home, "export", ids["dm"], "--format", "pdf")
    assert code == 2 and "not md or json" in out
    code, out = run(home, "export", ids["dm"], "-o", str(tmp_path / "missing" / "x.md"))
    assert code == 1 and "cannot write" in out


def test_rm_asks_without_yes_and_deletes_with_it(home: Path, ids: dict[str, str]) -> None:
    code, out = run(home, "rm", ids["dm"])
    assert code == 1 and "add --yes" in out
    code, out = run(home, "rm", ids["dm"], "--yes")
    assert code == 0 and f"Deleted session {ids['dm']}" in out
    code, out = run(home, "list")
    assert ids["dm"] not in out and ids["channel"] in out
