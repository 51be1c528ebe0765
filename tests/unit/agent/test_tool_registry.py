from typing import Any

import pytest

from hermes.agent.tools import load_tool_modules
from hermes.agent.tools.base import (
    ToolArgumentError,
    ToolContext,
    ToolResult,
    int_arg,
    register_tool,
    registered_tools,
    select_tools,
    string_arg,
)
from hermes.agent.tools.terminal import TerminalToolSettings
from hermes.config.settings import Settings


class Named:
    description = "test tool"
    parameters: dict[str, Any] = {"type": "object"}  # noqa: RUF012

    def __init__(self, name: str, available: bool = True) -> None:
        self.name = name
        self._available = available

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return ToolResult(self.name)


class Gated(Named):
    def available(self, settings: Settings) -> bool:
        return settings.section(TerminalToolSettings).enabled


TOOLS = [Named("memory"), Named("todo"), Named("web_fetch"), Named("web_search"), Gated("terminal")]


def names(settings: dict[str, Any], platform: str = "matrix") -> list[str]:
    return [t.name for t in select_tools(TOOLS, Settings.model_validate(settings), platform)]


def test_shipped_tools_register_themselves() -> None:
    tools = load_tool_modules()
    assert {"memory", "session_search", "todo"} <= set(tools)
    for tool in tools.values():
        assert tool.parameters["type"] == "object"
        assert tool.description


def test_everything_available_is_offered_by_default() -> None:
    assert names({}) == ["memory", "todo", "web_fetch", "web_search"]
    assert "terminal" in names({"tools": {"terminal": {"enabled": True}}})


def test_enabled_and_disabled_take_globs_and_platform_scopes() -> None:
    settings = {"tools": {"enabled": ["web_*", "memory", "api:todo"], "disabled": ["matrix:web_search"]}}
    assert names(settings, "matrix") == ["memory", "web_fetch"]
    assert names(settings, "api") == ["memory", "todo", "web_fetch", "web_search"]
    # An enabled list naming nothing for a platform leaves that platform everything.
    assert names({"tools": {"enabled": ["api:todo"]}}, "mattermost") == [
        "memory",
        "todo",
        "web_fetch",
        "web_search",
    ]
    assert names({"tools": {"disabled": ["*"]}}) == []


def test_a_second_tool_with_a_taken_name_is_refused() -> None:
    class Impostor(Named):
        pass

    assert "memory" in load_tool_modules()
    with pytest.raises(ValueError, match="already registered"):
        register_tool(Impostor("memory"))
    assert type(registered_tools()["memory"]).__name__ == "MemoryTool"


def test_argument_helpers_explain_bad_input() -> None:
    assert string_arg({"a": "x"}, "a", choices=("x", "y")) == "x"
    assert string_arg({}, "a", required=False) == ""
    assert int_arg({}, "n", 5, low=1, high=9) == 5
    for call, expected in [
        (lambda: string_arg({}, "a"), "missing required argument 'a'"),
        (lambda: string_arg({"a": 3}, "a"), "must be a string"),
        (lambda: string_arg({"a": "z"}, "a", choices=("x", "y")), "must be one of x, y"),
        (lambda: int_arg({"n": "3"}, "n", 1, low=1, high=9), "must be an integer"),
        (lambda: int_arg({"n": True}, "n", 1, low=1, high=9), "must be an integer"),
        (lambda: int_arg({"n": 99}, "n", 1, low=1, high=9), "between 1 and 9"),
    ]:
        with pytest.raises(ToolArgumentError, match=expected):
            call()
