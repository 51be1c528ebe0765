"""Command groups that platform packages add to `hermes` (`Platform.commands`), found through the registry.

The root group asks the registry only for a name it does not know itself (or to list its commands for
`--help`), so `hermes gateway run` and the other core commands never import the platforms for this.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    # Typer's own copy of click: its commands and contexts are not click's, and TyperGroup speaks them.
    from typer._click import Command, Context


def _contributions() -> dict[str, tuple[str, str]]:
    from hermes.config import ConfigError
    from hermes.platforms.base import registered

    try:
        platforms = registered()
    except ConfigError:
        # A broken plugin is reported by the commands that load the configuration; help still works.
        return {}
    found = {}
    for cls in platforms.values():
        if cls.commands is not None:
            found[cls.commands.name] = (cls.commands.target, cls.commands.help)
    return found


class WithPlatformCommands(TyperGroup):
    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        contribution = _contributions().get(cmd_name)
        if contribution is None:
            return None
        target, help_text = contribution
        module, _, attribute = target.partition(":")
        app = getattr(importlib.import_module(module), attribute)
        loaded = typer.main.get_command(app)
        loaded.name = cmd_name
        loaded.help = loaded.help or help_text
        return loaded

    def list_commands(self, ctx: Context) -> list[str]:
        core = super().list_commands(ctx)
        return core + sorted(name for name in _contributions() if name not in core)
