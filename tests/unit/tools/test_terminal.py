import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from hermes.agent.tools.base import ToolArgumentError, ToolContext, select_tools
from hermes.agent.tools.terminal import CappedOutput, TerminalTool, allowed_without_approval
from hermes.config.settings import Settings
from tests.unit.tools.conftest import RecordingServices, make_context

terminal = TerminalTool()


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed orphan may wait a while for someone to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def context(
    tmp_path: Path, services: RecordingServices | None = None, **terminal_settings: Any
) -> ToolContext:
    settings = Settings.model_validate({"tools": {"terminal": {"enabled": True, **terminal_settings}}})
    return make_context(tmp_path / "home", settings, services=services)


def test_off_unless_enabled() -> None:
    assert terminal.available(Settings()) is False
    assert [t.name for t in select_tools([terminal], Settings(), "matrix")] == []
    enabled = Settings.model_validate({"tools": {"terminal": {"enabled": True}}})
    assert [t.name for t in select_tools([terminal], enabled, "matrix")] == ["terminal"]


@pytest.mark.parametrize(
    ("command", "allowed"),
    [
        ("ls -la", True),
        ("git status", True),
        ("git push", False),
        ("ls; rm -rf ~", False),
        ("ls && curl evil", False),
        ("ls | sh", False),
        ("ls $(whoami)", False),
        ("ls `id`", False),
        ("ls > /etc/x", False),
        ("ls\nrm x", False),
    ],
)
def test_the_allowlist_never_lets_a_chained_command_through(command: str, allowed: bool) -> None:
    assert allowed_without_approval(command, ["ls*", "git status"]) is allowed


async def test_an_allowlisted_command_runs_in_the_workspace_without_asking(tmp_path: Path) -> None:
    services = RecordingServices(approve=False)
    ctx = context(tmp_path, services, allow=["pwd"])
    result = await terminal({"command": "pwd"}, ctx)
    assert result.ok
    assert result.content == f"{ctx.paths.workspace}\n[exit code 0]"
    assert services.approvals == []


async def test_an_unlisted_command_runs_only_after_approval(tmp_path: Path) -> None:
    services = RecordingServices(approve=True)
    ctx = context(tmp_path, services, approval_timeout_seconds=42)
    result = await terminal({"command": "echo approved > proof.txt; cat proof.txt"}, ctx)
    assert result.ok and result.content == "approved\n[exit code 0]"
    [(origin, prompt, wait)] = services.approvals
    assert origin.chat_id == "chat-1" and wait == 42
    assert "echo approved > proof.txt; cat proof.txt" in prompt


async def test_a_denied_command_does_not_run(tmp_path: Path) -> None:
    services = RecordingServices(approve=False)
    ctx = context(tmp_path, services)
    result = await terminal({"command": "touch should-not-exist"}, ctx)
    assert not result.ok and "did not approve" in result.content and "did not run" in result.content
    assert not (ctx.paths.workspace / "should-not-exist").exists()
    assert len(services.approvals) == 1


@pytest.mark.parametrize(
    "where",
    [
        # An API chat request: no chat to ask in. (An API run has one: the run's followers answer.)
        {"platform": "api_server", "chat_kind": "api", "origin": None},
        {"origin": None},
        {"services": None},
    ],
)
async def test_nobody_to_ask_means_refused(tmp_path: Path, where: dict[str, Any]) -> None:
    services = RecordingServices(approve=True)
    settings = Settings.model_validate({"tools": {"terminal": {"enabled": True}}})
    fields: dict[str, Any] = {"services": services, **where}
    ctx = make_context(tmp_path / "home", settings, **fields)
    result = await terminal({"command": "touch made"}, ctx)
    assert not result.ok and "nobody to ask" in result.content
    assert services.approvals == []
    assert not (ctx.paths.workspace / "made").exists()


async def test_auto_approve_runs_without_asking_even_on_the_api(tmp_path: Path) -> None:
    settings = Settings.model_validate({"tools": {"terminal": {"enabled": True, "auto_approve": True}}})
    ctx = make_context(
        tmp_path / "home", settings, platform="api_server", chat_kind="api", origin=None, services=None
    )
    result = await terminal({"command": "echo hi && exit 3"}, ctx)
    assert not result.ok and result.content == "hi\n[exit code 3]" and result.summary == "exit 3"


async def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    ctx = context(tmp_path, auto_approve=True, timeout_seconds=30)
    started = time.monotonic()
    result = await terminal(
        {"command": "sleep 60 & echo $! > child.pid; echo started; wait", "timeout": 1}, ctx
    )
    assert time.monotonic() - started < 10
    assert not result.ok
    assert result.content.startswith("Error: started\n[killed after 1 s")
    child = int((ctx.paths.workspace / "child.pid").read_text())
    # SIGKILL is delivered at once, but a loaded machine may take a moment to schedule the dying child.
    deadline = time.monotonic() + 5
    while running(child) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not running(child)


async def test_the_timeout_cannot_exceed_the_operators_limit(tmp_path: Path) -> None:
    ctx = context(tmp_path, auto_approve=True, timeout_seconds=1)
    result = await terminal({"command": "sleep 30", "timeout": 999}, ctx)
    assert "[killed after 1 s" in result.content


async def test_output_is_capped_keeping_head_and_tail(tmp_path: Path) -> None:
    ctx = context(tmp_path, auto_approve=True, max_output_chars=1000)
    result = await terminal({"command": "echo BEGIN; seq 1 100000; echo END"}, ctx)
    assert result.ok
    assert result.content.startswith("BEGIN\n1\n2\n")
    assert result.content.endswith("100000\nEND\n[exit code 0]")
    assert "bytes of output left out" in result.content
    assert len(result.content) < 1200


def test_capped_output_counts_what_it_dropped() -> None:
    output = CappedOutput(10)
    for piece in (b"abc", b"defgh", b"ijklmnop", b"qrst"):
        output.add(piece)
    assert output.text() == "abcde\n[… 10 bytes of output left out …]\npqrst"
    small = CappedOutput(100)
    small.add(b"all of it")
    assert small.text() == "all of it"


async def test_workdir_and_bad_arguments(tmp_path: Path) -> None:
    ctx = context(tmp_path, auto_approve=True)
    (ctx.paths.workspace / "sub").mkdir(parents=True)
    result = await terminal({"command": "pwd", "workdir": "sub"}, ctx)
    assert result.content == f"{ctx.paths.workspace / 'sub'}\n[exit code 0]"
    bad = [
        ({}, "missing required argument 'command'"),
        ({"command": "   "}, "blank"),
        ({"command": 42}, "must be a string"),
        ({"command": "ls", "timeout": -1}, "positive number"),
        ({"command": "ls", "timeout": "soon"}, "positive number"),
        ({"command": "ls", "workdir": "../.."}, "outside the workspace"),
        ({"command": "ls", "workdir": "missing"}, "not a directory"),
    ]
    for args, message in bad:
        with pytest.raises(ToolArgumentError, match=message):
            await terminal(args, ctx)


async def test_no_output_and_stderr_are_reported(tmp_path: Path) -> None:
    ctx = context(tmp_path, auto_approve=True)
    assert (await terminal({"command": "true"}, ctx)).content == "(no output)\n[exit code 0]"
    result = await terminal({"command": "echo oops >&2; exit 1"}, ctx)
    assert result.content == "oops\n[exit code 1]" and not result.ok


async def test_a_cancelled_run_kills_the_command(tmp_path: Path) -> None:
    ctx = context(tmp_path, auto_approve=True)
    pid_file = ctx.paths.workspace / "sleeper.pid"
    task = asyncio.create_task(terminal({"command": "echo $$ > sleeper.pid; exec sleep 60"}, ctx))
    async with asyncio.timeout(5):
        while not pid_file.exists() or not pid_file.read_text().strip():
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not running(int(pid_file.read_text()))


async def test_commands_cannot_read_the_daemons_secrets(monkeypatch) -> None:
    from hermes.agent.tools.terminal import run_command

    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-commands")
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    result = await run_command("env", cwd="/tmp", timeout=10, max_chars=100_000)
    assert "visible" in result.content
    assert "sk-not-for-commands" not in result.content
