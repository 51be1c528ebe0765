"""MCP servers over stdio, written here with the SDK's server side, their tools called by the fake model
through the real loop; servers that fail to start or die are reported once and their tools removed."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from hermes.agent.contract import ToolFinished
from hermes.agent.tools import registered_tools
from hermes.agent.tools.mcp import McpServers
from tests.fakes.llm import Call, FakeLLM, Text, ToolCalls
from tests.integration.agent.conftest import tool_results
from tests.integration.tools.conftest import AgentRig

SERVER = '''
import os
import sys
import threading

from mcp.server.mcpserver import MCPServer

app = MCPServer(sys.argv[1])


@app.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@app.tool()
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@app.tool()
def fail() -> str:
    """Always fails."""
    raise ValueError("the tool broke")


@app.tool()
def exit_now() -> str:
    """The server process exits in the middle of the call."""
    os._exit(3)


@app.tool()
def exit_soon() -> str:
    """Answers, then the server process exits."""
    threading.Timer(0.2, os._exit, (4,)).start()
    return "bye"


if len(sys.argv) > 2:
    app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
else:
    app.run("stdio")
'''


@pytest.fixture
def server_script(tmp_path: Path) -> Path:
    script = tmp_path / "calc_server.py"
    script.write_text(SERVER)
    return script


@pytest.fixture
async def start_servers() -> AsyncIterator[Callable[..., Awaitable[McpServers]]]:
    started: list[McpServers] = []

    async def start(configs: dict[str, Any], *, heartbeat: float = 30.0) -> McpServers:
        servers = McpServers(configs, heartbeat=heartbeat)
        started.append(servers)
        await servers.start()
        return servers

    yield start
    for servers in started:
        await servers.close()
    assert not [name for name in registered_tools() if "__" in name]


def stdio(script: Path, name: str, **extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(script), name], **extra}


def mcp_tools() -> list[str]:
    return sorted(name for name in registered_tools() if "__" in name)


async def logged(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    """The log lines holding `text`, once there is one: a server's tools go before its transport has shut
    down, and the line saying so comes after."""
    async with asyncio.timeout(10):
        while not (lines := [r.getMessage() for r in caplog.records if text in r.getMessage()]):
            await asyncio.sleep(0.02)
    return lines


async def test_the_model_calls_mcp_tools_through_the_loop(
    make_agent: Callable[..., Awaitable[AgentRig]],
    start_servers: Callable[..., Awaitable[McpServers]],
    server_script: Path,
    llm: FakeLLM,
) -> None:
    await start_servers({"calc": stdio(server_script, "calc")})
    assert mcp_tools() == ["calc__add", "calc__exit_now", "calc__exit_soon", "calc__fail", "calc__shout"]
    rig = await make_agent({"tools": {"disabled": ["calc__exit_*"]}})
    llm.script(
        ToolCalls([Call("calc__add", {"a": 2, "b": 40}), Call("calc__shout", {"text": "hi"})]),
        ToolCalls([Call("calc__fail", {}), Call("calc__add", {"a": "two"})]),
        Text("42, HI."),
    )
    events = await rig.run("add and shout")
    first, second, third = llm.chat_requests
    offered = [name for name in first.tool_names if "__" in name]
    assert offered == ["calc__add", "calc__fail", "calc__shout"]
    add_spec = next(t for t in first.body["tools"] if t["function"]["name"] == "calc__add")["function"]
    assert add_spec["description"] == "Add two whole numbers."
    assert add_spec["parameters"]["required"] == ["a", "b"]
    assert tool_results(second) == ["42", "HI"]
    failed, bad_args = tool_results(third)[2:]
    assert failed == "Error: Error executing tool fail"
    assert bad_args.startswith("Error: Error executing tool add") and "valid integer" in bad_args
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [e.ok for e in finished] == [True, True, False, False]


async def test_a_server_that_fails_to_start_is_reported_once_and_the_rest_work(
    start_servers: Callable[..., Awaitable[McpServers]], server_script: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hermes.agent.tools.mcp")
    servers = await start_servers(
        {
            "calc": stdio(server_script, "calc"),
            "crashing": {"command": sys.executable, "args": ["-c", "import sys; sys.exit(5)"]},
            "missing": {"command": "/no/such/mcp-server"},
            "confused": {"command": "x", "url": "http://127.0.0.1:1/mcp"},
            "off": {**stdio(server_script, "off"), "enabled": False},
        }
    )
    assert sorted(servers.servers) == ["calc", "crashing", "missing"]
    assert {name: s.state for name, s in servers.servers.items()} == {
        "calc": "running",
        "crashing": "failed",
        "missing": "failed",
    }
    assert mcp_tools() == ["calc__add", "calc__exit_now", "calc__exit_soon", "calc__fail", "calc__shout"]
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("MCP server crashing failed to start")]) == 1
    assert len([m for m in messages if m.startswith("MCP server missing failed to start")]) == 1
    assert any("mcp_servers.confused" in m and "either command" in m for m in messages)
    result = await registered_tools()["calc__add"]({"a": 1, "b": 1}, None)  # type: ignore[arg-type]
    assert result.content == "2"


async def test_a_server_dying_mid_call_loses_its_tools_and_the_other_keeps_working(
    make_agent: Callable[..., Awaitable[AgentRig]],
    start_servers: Callable[..., Awaitable[McpServers]],
    server_script: Path,
    llm: FakeLLM,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="hermes.agent.tools.mcp")
    servers = await start_servers(
        {"calc": stdio(server_script, "calc"), "other": stdio(server_script, "other")}
    )
    rig = await make_agent()
    llm.script(ToolCalls([Call("calc__exit_now", {})]), Text("It died."))
    await rig.run("crash it")
    [result] = tool_results(llm.chat_requests[-1])
    assert result == "Error: MCP server 'calc' stopped; its tools are no longer available"
    async with asyncio.timeout(10):
        while servers.servers["calc"].state != "failed":
            await asyncio.sleep(0.02)
    assert mcp_tools() == ["other__add", "other__exit_now", "other__exit_soon", "other__fail", "other__shout"]
    llm.script(
        ToolCalls([Call("calc__add", {"a": 1, "b": 2}), Call("other__add", {"a": 1, "b": 2})]), Text("ok")
    )
    await rig.run("again")
    gone, working = tool_results(llm.chat_requests[-1])[-2:]
    assert "calc" in gone and gone.startswith("Error:")
    assert working == "3"
    stopped = await logged(caplog, "MCP server calc stopped")
    assert stopped == [
        "MCP server calc stopped: the connection was lost (MCPError: Connection closed); "
        "its 5 tool(s) are removed"
    ]


async def test_a_silent_death_is_noticed_without_a_call(
    start_servers: Callable[..., Awaitable[McpServers]], server_script: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hermes.agent.tools.mcp")
    servers = await start_servers({"calc": stdio(server_script, "calc")}, heartbeat=0.1)
    bye = await registered_tools()["calc__exit_soon"]({}, None)  # type: ignore[arg-type]
    assert bye.content == "bye"
    async with asyncio.timeout(10):
        while mcp_tools():
            await asyncio.sleep(0.02)
    assert servers.servers["calc"].state == "failed"
    assert len(await logged(caplog, "MCP server calc stopped")) == 1


async def test_a_streamable_http_server(
    start_servers: Callable[..., Awaitable[McpServers]], server_script: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(server_script), "remote", str(port), stderr=asyncio.subprocess.DEVNULL
    )
    try:
        async with asyncio.timeout(30):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                break
        url = f"http://127.0.0.1:{port}/mcp"
        servers = await start_servers({"remote": {"url": url, "headers": {"Authorization": "Bearer t"}}})
        assert servers.servers["remote"].state == "running"
        result = await registered_tools()["remote__shout"]({"text": "over http"}, None)  # type: ignore[arg-type]
        assert result.content == "OVER HTTP"
    finally:
        process.kill()
        await process.wait()


async def test_a_server_slower_than_the_start_wait_joins_later(
    start_servers: Callable[..., Awaitable[McpServers]],
    server_script: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = tmp_path / "slow_server.py"
    slow.write_text(f"import time\ntime.sleep(1.0)\nexec(open({str(server_script)!r}).read())\n")
    caplog.set_level(logging.WARNING, logger="hermes.agent.tools.mcp")
    servers = McpServers({"slow": stdio(slow, "slow"), "calc": stdio(server_script, "calc")})
    try:
        started = time.monotonic()
        await servers.start(wait=0.5)
        assert time.monotonic() - started < 0.9
        assert servers.servers["slow"].state == "starting"
        assert any("MCP server slow is still starting" in r.getMessage() for r in caplog.records)
        await asyncio.wait_for(servers.servers["slow"].ready.wait(), 30)
        assert servers.servers["slow"].state == "running"
        assert "slow__add" in mcp_tools() and "calc__add" in mcp_tools()
    finally:
        await servers.close()
