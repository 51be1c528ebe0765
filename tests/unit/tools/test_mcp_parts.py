from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from hermes.agent.tools.base import register_tool, registered_tools, tools_generation, unregister_tool
from hermes.agent.tools.mcp import McpServer, McpTool, ServerConfig, render_result, safe_name


def test_server_config_needs_exactly_one_transport() -> None:
    stdio = ServerConfig.model_validate(
        {"command": "npx", "args": ["-y", "srv"], "env": {"K": "v"}, "extra": 1}
    )
    assert (stdio.command, stdio.args, stdio.env, stdio.timeout) == ("npx", ["-y", "srv"], {"K": "v"}, 120.0)
    http = ServerConfig.model_validate({"url": "https://mcp.example/mcp", "headers": {"Authorization": "x"}})
    assert http.url == "https://mcp.example/mcp"
    for bad in (
        {},
        {"command": "a", "url": "http://b"},
        {"command": "a", "timeout": 0},
        {"command": "a", "args": "x"},
    ):
        with pytest.raises(ValidationError):
            ServerConfig.model_validate(bad)


def test_tool_names_are_namespaced_and_safe() -> None:
    server = McpServer("my.server", ServerConfig(command="x"), log_dir=None)
    tool = McpTool(server, "read file!", "", {"properties": {"p": {"type": "string"}}})
    assert tool.name == "my_server__read_file_"
    assert tool.parameters == {"type": "object", "properties": {"p": {"type": "string"}}}
    assert tool.description == "The 'read file!' tool of the 'my.server' MCP server."
    long = McpTool(server, "x" * 100, "d", {})
    assert len(long.name) == 64 and long.parameters == {"type": "object", "properties": {}}
    assert safe_name("a-b_c9") == "a-b_c9"


def block(kind: str, **fields: Any) -> SimpleNamespace:
    return SimpleNamespace(type=kind, **fields)


def test_results_become_text() -> None:
    result = SimpleNamespace(
        content=[
            block("text", text="hello"),
            block("image", mime_type="image/png", data="QUJD"),
            block("resource_link", uri="file:///a"),
            block("resource", resource=SimpleNamespace(text="inline", uri="mem://1")),
            block("resource", resource=SimpleNamespace(uri="mem://2")),
        ],
        structured_content=None,
        is_error=False,
    )
    rendered = render_result(result)
    assert rendered.ok
    assert rendered.content.splitlines() == [
        "hello",
        "[image: image/png, 4 base64 chars]",
        "[resource: file:///a]",
        "inline",
        "[binary resource: mem://2]",
    ]
    structured = render_result(SimpleNamespace(content=[], structured_content={"n": 1}, is_error=False))
    assert structured.content == '{"n": 1}'
    empty_error = render_result(SimpleNamespace(content=[], structured_content=None, is_error=True))
    assert not empty_error.ok and empty_error.content == "Error: (no output)"


async def test_a_server_that_is_not_running_answers_with_an_error() -> None:
    server = McpServer("calc", ServerConfig(command="x"), log_dir=None)
    result = await server.call("add", {})
    assert (
        not result.ok
        and result.content == "Error: MCP server 'calc' is not running; its tools are unavailable"
    )


def test_run_time_tools_come_and_go_in_the_registry() -> None:
    server = McpServer("probe", ServerConfig(command="x"), log_dir=None)
    tool = McpTool(server, "ping", "d", {})
    before = tools_generation()
    register_tool(tool)
    try:
        assert registered_tools()["probe__ping"] is tool and tools_generation() > before
    finally:
        assert unregister_tool("probe__ping") is True
    after = tools_generation()
    assert "probe__ping" not in registered_tools() and after > before
    assert unregister_tool("probe__ping") is False and tools_generation() == after
