"""`hermes dashboard`: the operator's web page, as the fleet manager's companion unit starts it."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer

from hermes.cli.common import EXIT_CONFIG, EXIT_FAILURE, load_or_exit


def dashboard(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (loopback unless a token is set)."
    ),
    port: int = typer.Option(9119, "--port", min=1, max=65535, help="Port to listen on."),
    no_open: bool = typer.Option(False, "--no-open", help="Do not open a browser."),
    tui: bool = typer.Option(
        False, "--tui", help="Enable the Chat page (also HERMES_DASHBOARD_TUI=1 or dashboard.tui)."
    ),
) -> None:
    """Serve the dashboard: overview, sessions, memory, cron, skills, config, logs, metrics and chat."""
    from hermes.dashboard.server import RefusedBind, serve
    from hermes.observability.logging import CONSOLE_FORMAT, RedactingFormatter, Redactor

    config = load_or_exit()
    # To stderr (the journal, under systemd), redacted like the gateway's logs; gateway.log is the gateway's.
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(Redactor(config.secret_values()), CONSOLE_FORMAT))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    try:
        asyncio.run(
            serve(
                config,
                host,
                port,
                tui=tui or config.settings.dashboard.tui,
                open_browser=not no_open and sys.stdout.isatty(),
            )
        )
    except RefusedBind as exc:
        print(f"hermes dashboard: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG) from None
    except OSError as exc:
        print(f"hermes dashboard: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILURE) from None
