"""`hermes config ...`: what the daemon would run with, and where each value came from."""

from __future__ import annotations

import json

import typer

from hermes.cli.common import load_or_exit

app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)

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

    config = load_or_exit()
    rows = []
    for leaf in leaves():
        value = config.value(leaf.key)
        shown = REDACTED if leaf.secret and value else json.dumps(value, ensure_ascii=False)
        rows.append((leaf.key, shown, config.origins[leaf.key]))
    width = max(len(key) for key, _, _ in rows)
    typer.echo(f"# HERMES_HOME={config.paths.home}")
    for key, shown, origin in rows:
        typer.echo(f"{key.ljust(width)} = {shown}  [{origin}]")
    for warning in config.warnings:
        typer.echo(f"# warning: {warning}", err=True)
