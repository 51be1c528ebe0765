"""`hermes chat` driven through a pipe, as a subprocess, against the fake LLM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import yaml

from hermes.gateway.commands import COMMANDS
from tests.fakes.llm import Call, Error, FakeLLM, Stall, Text, ToolCalls
from tests.integration.agent.conftest import all_text

LAUNCH = "import typer; from hermes.cli.chat import chat; typer.run(chat)"


def home_for(tmp_path: Path, llm: FakeLLM | None) -> dict[str, str]:
    model = {"provider": "custom", "default": "fake-model"}
    if llm is not None:
        model["base_url"] = llm.url
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"model": model}))
    return {"PATH": os.environ.get("PATH", ""), "HERMES_HOME": str(tmp_path)}


async def start(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LAUNCH,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


async def test_a_piped_chat_streams_replies_shows_tools_and_starts_new_sessions(tmp_path: Path) -> None:
    async with FakeLLM() as llm:
        llm.script(
            ToolCalls([Call("todo", {"todos": [{"id": "1", "content": "Buy milk", "status": "pending"}]})]),
            Text("Added it to your list."),
        )
        process = await start(home_for(tmp_path, llm))
        lines = "Remember to buy milk\n/help\n/new\nWhat did I ask?\n/bogus\n"
        out, err = await asyncio.wait_for(process.communicate(lines.encode()), 30)
    assert process.returncode == 0, err.decode()
    assert out.decode().splitlines() == [
        '  ⚙ todo("todos": [{"id": "1", "content": "Buy milk", "status": "pending"}])',
        "  ✓ todo: Tasks (0/1 done):",
        "Added it to your list.",
        "Commands (`!` works as well as `/`):",
        *(f"/{c.name} — {c.summary}" for c in dict((c.name, c) for c in COMMANDS.values()).values()),
        "/exit — leave the chat (so does Ctrl-D)",
        "✨ Started a fresh conversation.",
        "What did I ask?",
        "Unknown command /bogus. Type /help for the commands, /exit to quit (so does Ctrl-D).",
    ]
    last = llm.chat_requests[-1]
    assert "What did I ask?" in all_text(last) and "buy milk" not in all_text(last)
    assert (tmp_path / "state.db").exists() and (tmp_path / "SOUL.md").exists()


async def test_ctrl_c_stops_a_reply_and_the_chat_goes_on(tmp_path: Path) -> None:
    async with FakeLLM() as llm:
        llm.script(Stall(after=2, reply=Text("stuck stuck stuck")))
        process = await start(home_for(tmp_path, llm))
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b"Are you there?\n")
        await process.stdin.drain()
        await llm.wait_for_requests(1, timeout=20)
        await asyncio.sleep(0.2)
        process.send_signal(signal.SIGINT)
        shown = [(await asyncio.wait_for(process.stdout.readline(), 10)).decode() for _ in range(2)]
        process.stdin.write(b"Hello again\n/exit\n")
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    # What streamed before the stall stays on screen, and the stop is said on its own line.
    assert shown == ["stuck \n", "(stopped)\n"]
    assert out.decode().splitlines() == ["Hello again"]


async def test_a_provider_without_its_settings_is_one_clear_line_and_exit_78(tmp_path: Path) -> None:
    process = await start(home_for(tmp_path, None))
    out, err = await asyncio.wait_for(process.communicate(b"hi\n"), 30)
    assert process.returncode == 78
    assert out == b""
    assert err.decode().strip().splitlines() == [
        "hermes chat: model.provider is custom but model.base_url is not set "
        "(e.g. http://127.0.0.1:11434 for Ollama)"
    ]


async def test_the_chat_platforms_commands_work_in_the_terminal(tmp_path: Path) -> None:
    async with FakeLLM() as llm:
        llm.script(Text("Paris."), Text("Paris, France."), Text("Lyon."))
        process = await start(home_for(tmp_path, llm))
        lines = "Capital of France?\n/retry\n/usage\n/model other-model\nAnd a second city?\n/undo\n/status\n"
        out, err = await asyncio.wait_for(process.communicate(lines.encode()), 30)
    assert process.returncode == 0, err.decode()
    shown = out.decode().splitlines()
    assert shown[:3] == ["Paris.", "Paris, France.", shown[2]]
    assert shown[2].startswith("This conversation: ") and shown[2].endswith(" over 2 messages.")
    assert shown[3:6] == [
        "Model for this conversation: other-model",
        "Lyon.",
        "↩️ Forgot the last exchange (2 messages).",
    ]
    assert shown[6].startswith("Hermes 0.1.0, up ")
    assert shown[7:9] == ["Model: other-model", "Session: cli:local"]
    assert "Unknown command" not in out.decode()
    # /retry asked the same question again, with the first answer forgotten.
    assert "Capital of France?" in all_text(llm.chat_requests[1]) and "Paris." not in all_text(
        llm.chat_requests[1]
    )
    assert llm.chat_requests[2].body["model"] == "other-model"


async def test_a_failed_reply_in_piped_input_exits_1_and_retries_are_one_short_line(tmp_path: Path) -> None:
    async with FakeLLM() as llm:
        llm.script(Error(503, "overloaded", retry_after=0.05), Text("Here."), Error(401, "bad key"))
        env = home_for(tmp_path, llm)
        (tmp_path / "config.yaml").write_text(
            yaml.safe_dump(
                {
                    "model": {
                        "provider": "custom",
                        "default": "fake-model",
                        "base_url": llm.url,
                        "max_retries": 1,
                    }
                }
            )
        )
        process = await start(env)
        out, err = await asyncio.wait_for(process.communicate(b"First?\nSecond?\n"), 30)
    assert process.returncode == 1, err.decode()
    shown = out.decode().splitlines()
    assert shown[0] == "  … the model failed (HTTP 503); retrying (1 of 1)"
    assert shown[1] == "Here."
    assert shown[2].startswith("error: ") and len(shown) == 3
    assert err.decode() == ""
    log = (tmp_path / "logs" / "chat.log").read_text()
    assert "overloaded; retrying in" in log
