"""The tool contract (docs/architecture.md, "Contracts"), what a tool sees of its run, and the registry.

A tool module registers its tools with `register_tool` when imported, and its settings (the block
`tools.<name>` of config.yaml) with `register_tool_settings`; `hermes.agent.tools.load_tool_modules`
imports every module of this package, and out-of-tree tools come through the `hermes.tools` entry points
(`hermes.extensions`), so adding a tool is one new module. Tools that depend on the settings (a disabled
terminal, MCP servers from config) implement `available(settings)`, and read their own settings with
`settings.section(TheirSettings)`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hermes.agent.contract import GatewayServices, Origin
from hermes.config.paths import HermesPaths
from hermes.config.sections import PrefixRule, SectionSpec, register_section
from hermes.config.settings import Section, Settings

if TYPE_CHECKING:
    from hermes.agent.memory import MemoryFiles
    from hermes.store import Store


@dataclass(frozen=True)
class ToolResult:
    """What the model reads back (`content`), and the one line a chat shows for it (`summary`)."""

    content: str
    ok: bool = True
    summary: str | None = None

    @classmethod
    def error(cls, message: str) -> ToolResult:
        return cls(f"Error: {message}", ok=False, summary=message)


@dataclass
class ToolContext:
    session_key: str
    # None for stateless runs, which store nothing.
    session_id: str | None
    platform: str
    chat_kind: str
    user_id: str
    # The chat the request came from, for tools that must reach the requester; None without one.
    origin: Origin | None
    services: GatewayServices | None
    paths: HermesPaths
    settings: Settings
    store: Store | None
    memory: MemoryFiles
    # Whose memory `memory` is: None for the owner's, else the person's own scope (see agent.memory).
    memory_scope: str | None = None
    # The conversation has taken in output of a `reads_untrusted` tool.
    read_untrusted: bool = False
    # Scratch space kept with the session while it stays loaded (the todo list lives here).
    state: dict[str, Any] = field(default_factory=dict)


class ToolArgumentError(ValueError):
    """The model's arguments do not fit the tool; the message goes back to the model as is."""


def string_arg(args: dict[str, Any], name: str, *, required: bool = True, choices: Sequence[str] = ()) -> str:
    value = args.get(name)
    if value is None or value == "":
        if required:
            raise ToolArgumentError(f"missing required argument {name!r}")
        return ""
    if not isinstance(value, str):
        raise ToolArgumentError(f"argument {name!r} must be a string, got {type(value).__name__}")
    if choices and value not in choices:
        raise ToolArgumentError(f"argument {name!r} must be one of {', '.join(choices)}; got {value!r}")
    return value


def int_arg(args: dict[str, Any], name: str, default: int, *, low: int, high: int) -> int:
    value = args.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ToolArgumentError(f"argument {name!r} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ToolArgumentError(f"argument {name!r} must be between {low} and {high}, got {value}")
    return int(value)


class Tool(Protocol):
    """A tool may also set `attended_only = True`: then scheduled (unattended) runs are not offered it;
    and `reads_untrusted = True` when its output comes from outside (a web page, a file, a server): memory
    saved later in that conversation is marked as possibly injected."""

    # Read-only members, so that a tool may declare them as class attributes.
    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def parameters(self) -> dict[str, Any]:
        """JSON schema of the arguments object."""

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult: ...


@runtime_checkable
class ConditionalTool(Protocol):
    def available(self, settings: Settings) -> bool: ...


def register_tool_settings(
    name: str, model: type[Section], *, env_prefix: str = "", rule: PrefixRule = PrefixRule.OWNED
) -> None:
    """Make `model` the settings of tool `name`: the block `tools.<name>` of config.yaml, and the
    environment names its fields declare (all starting with `env_prefix`)."""
    register_section(SectionSpec(f"tools.{name}", model, "", env_prefix, prefix_rule=rule))


_registry: dict[str, Tool] = {}
# Bumped on every change, so a holder of a snapshot can tell that tools came or went (MCP servers).
_generation = 0


def register_tool(tool: Tool) -> Tool:
    global _generation
    existing = _registry.get(tool.name)
    if existing is not None and type(existing) is not type(tool):
        raise ValueError(f"tool {tool.name!r} is already registered by {type(existing).__name__}")
    _registry[tool.name] = tool
    _generation += 1
    return tool


def unregister_tool(name: str) -> bool:
    """Remove a tool registered at run time (an MCP server's tool when the server goes away)."""
    global _generation
    if _registry.pop(name, None) is None:
        return False
    _generation += 1
    return True


def registered_tools() -> dict[str, Tool]:
    return dict(_registry)


def tools_generation() -> int:
    return _generation


def _rules_for(entries: Iterable[str], platform: str) -> list[str]:
    """The patterns that apply on `platform`: `name` applies everywhere, `platform:name` only there."""
    rules = []
    for entry in entries:
        scope, sep, pattern = entry.partition(":")
        if not sep:
            rules.append(entry)
        elif scope == platform:
            rules.append(pattern)
    return rules


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def select_tools(tools: Iterable[Tool], settings: Settings, platform: str) -> list[Tool]:
    """The tools offered on `platform`: available, in `tools.enabled` (all when it names none for this
    platform), not in `tools.disabled`. Entries are glob patterns, optionally `platform:pattern`."""
    enabled = _rules_for(settings.tools.enabled, platform)
    disabled = _rules_for(settings.tools.disabled, platform)
    chosen = []
    for tool in tools:
        if isinstance(tool, ConditionalTool) and not tool.available(settings):
            continue
        if enabled and not _matches(tool.name, enabled):
            continue
        if _matches(tool.name, disabled):
            continue
        chosen.append(tool)
    return sorted(chosen, key=lambda t: t.name)
