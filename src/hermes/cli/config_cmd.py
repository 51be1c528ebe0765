"""`hermes config ...`: what the daemon would run with, where each value came from, and changing one."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer

from hermes.cli.common import EXIT_CONFIG, load_or_exit

if TYPE_CHECKING:
    from hermes.config.loader import Leaf

app = typer.Typer(help="Inspect and change the configuration.", no_args_is_help=True)

REDACTED = "********"


@app.command("reference")
def reference() -> None:
    """Print the configuration reference (every setting, its environment name, default and meaning)."""
    from hermes.config.reference import markdown

    typer.echo(markdown(), nl=False)


@app.command("show")
def show() -> None:
    """Print every effective setting with its origin; secrets are redacted."""
    from hermes.config.loader import leaves
    from hermes.config.mcp_secrets import mcp_redacted

    config = load_or_exit()
    rows = []
    for leaf in leaves():
        value = config.value(leaf.key)
        if leaf.key == "mcp_servers":
            value = mcp_redacted(value, REDACTED)
        shown = REDACTED if leaf.secret and value else json.dumps(value, ensure_ascii=False)
        rows.append((leaf.key, shown, config.origins[leaf.key]))
    width = max(len(key) for key, _, _ in rows)
    typer.echo(f"# HERMES_HOME={config.paths.home}")
    for key, shown, origin in rows:
        typer.echo(f"{key.ljust(width)} = {shown}  [{origin}]")
    for warning in config.warnings:
        typer.echo(f"# warning: {warning}", err=True)


def _leaf_or_exit(name: str) -> Leaf:
    from hermes.config.one_setting import SettingNameError, find_leaf

    try:
        return find_leaf(name)
    except SettingNameError as exc:
        print(exc, file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG) from None


@app.command("get")
def get(
    name: str = typer.Argument(..., help="A dotted key (gateway.allow_bots) or an environment name."),
    reveal: bool = typer.Option(False, "--reveal", help="Print a secret instead of ********."),
) -> None:
    """Print one effective setting (lists comma-separated, as in .env); its origin goes to stderr."""
    from hermes.config.writer import env_text

    leaf = _leaf_or_exit(name)
    config = load_or_exit()
    value = config.value(leaf.key)
    text = "" if value is None else env_text(value)
    typer.echo(REDACTED if leaf.secret and text and not reveal else text)
    typer.echo(f"# {leaf.key} [{config.origins[leaf.key]}]", err=True)


@app.command("set")
def set_(
    name: str = typer.Argument(..., help="A dotted key (gateway.allow_bots) or an environment name."),
    value: str = typer.Argument(..., help="The value as in .env; lists comma-separated."),
    if_unset: bool = typer.Option(
        False, "--if-unset", help="Change nothing when a file or the environment already sets it."
    ),
) -> None:
    """Change one setting where it lives (.env for secrets and platform keys, config.yaml otherwise),
    keeping comments and order; refused, with nothing written, when the daemon would not start with it."""
    from hermes.config.loader import DEFAULT
    from hermes.config.one_setting import parse_value
    from hermes.config.writer import WriteError, check_plan, plan_changes
    from hermes.gateway.runner import enabled_platforms

    leaf = _leaf_or_exit(name)
    config = load_or_exit()
    origin = config.origins[leaf.key]
    if if_unset and origin != DEFAULT:
        typer.echo(f"{leaf.key} is already set (in {origin}); left as it is")
        return
    try:
        parsed = parse_value(leaf, value)
        plan = plan_changes(config.paths, {leaf.key: parsed})
    except (ValueError, WriteError) as exc:
        print(exc, file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG) from None
    check = check_plan(plan, start_checks=enabled_platforms)
    if check.problems:
        for problem in check.problems:
            print(problem, file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG)
    plan.write()
    where = [str(change.path) for change in (plan.env, plan.yaml) if change.changed]
    typer.echo(f"{leaf.key} set in {' and '.join(where)}" if where else f"{leaf.key} already has that value")
    for line in check.shadowed:
        typer.echo(f"note: {line}", err=True)
