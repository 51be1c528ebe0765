"""Agent tools: every module in this package registers its tools; the registry lives in `base`."""

from __future__ import annotations

import importlib
import pkgutil

from hermes.agent.tools.base import (
    Tool,
    ToolContext,
    ToolResult,
    register_tool,
    registered_tools,
    select_tools,
)

__all__ = [
    "Tool",
    "ToolContext",
    "ToolResult",
    "load_tool_modules",
    "register_tool",
    "registered_tools",
    "select_tools",
]


def load_tool_modules() -> dict[str, Tool]:
    """Import every tool module (each registers itself), and those of the `hermes.tools` entry points;
    return the registry."""
    from hermes.extensions import discover

    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")
    discover()
    return registered_tools()
