"""The Typer application: one sub-application per command group, each in its own module."""

from __future__ import annotations

from typing import Any

import typer

from hermes.cli import (
    chat,
    config_cmd,
    cron,
    dashboard,
    doctor,
    gateway,
    memory_cmd,
    service,
    sessions_cmd,
    setup,
    skills_cmd,
    status,
    store_cmd,
    version_line,
)
from hermes.cli.platform_commands import WithPlatformCommands


def _flags_take_no_value() -> None:
    """Typer 0.29's help prints a type beside every option, flags included (`--dry-run <bool>`), which
    reads as if the flag wanted a value. A flag or a counter (`-vv`) gets no type column."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag or self.count else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()

app = typer.Typer(
    name="hermes",
    cls=WithPlatformCommands,
    help="Hermes: a self-hosted AI agent on your chat platforms and an OpenAI-compatible API.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(gateway.app, name="gateway")
app.add_typer(config_cmd.app, name="config")
app.add_typer(cron.app, name="cron")
app.add_typer(memory_cmd.app, name="memory")
app.add_typer(sessions_cmd.app, name="sessions")
app.add_typer(skills_cmd.app, name="skills")
app.add_typer(store_cmd.app, name="store")
app.command("doctor")(doctor.doctor)
app.command("chat")(chat.chat)
app.command("dashboard")(dashboard.dashboard)
gateway.app.command(
    "setup",
    cls=setup.PlatformFlags,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)(setup.setup)
gateway.app.command("status")(status.status)
for _action in (service.install, service.uninstall, service.start, service.stop, service.restart):
    gateway.app.command(_action.__name__)(_action)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Hermes gateway and agent."""
