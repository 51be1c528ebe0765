"""`hermes gateway ...`: run the daemon in the foreground."""

from __future__ import annotations

import asyncio
import logging
import sys

import typer

from hermes.cli.common import EXIT_CONFIG, EXIT_FAILURE, load_or_exit

app = typer.Typer(help="Run and manage the gateway daemon.", no_args_is_help=False)


@app.command("run")
def run(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="Show debug logs on the console."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on the console."),
) -> None:
    """Run the gateway in the foreground until SIGINT or SIGTERM."""
    from hermes.config import ConfigError
    from hermes.gateway.runner import Gateway, HomeInUse
    from hermes.observability.logging import Redactor, setup_logging
    from hermes.store.errors import StoreError

    config = load_or_exit()
    try:
        config.paths.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        print(f"HERMES_HOME {config.paths.home}: cannot create it: {exc.strerror}", file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG) from None
    logging_settings = config.settings.logging
    setup_logging(
        config.paths.logs,
        Redactor(config.secret_values()),
        level=logging_settings.level,
        verbosity=-1 if quiet else verbose,
        max_bytes=logging_settings.max_bytes,
        backup_count=logging_settings.backup_count,
    )
    log = logging.getLogger("hermes.gateway")
    for warning in config.warnings:
        log.warning(warning)
    for path, mode in config.paths.readable_env_files():
        log.warning("%s has mode %o and holds secrets that others may read: chmod 600 %s", path, mode, path)
    gateway = Gateway(config)

    async def main() -> None:
        gateway.install_signal_handlers()
        await gateway.run()

    try:
        asyncio.run(main())
    except ConfigError as exc:
        for problem in exc.problems:
            log.error(problem)
        raise typer.Exit(EXIT_CONFIG) from None
    except (StoreError, HomeInUse) as exc:
        log.error("%s", exc)
        raise typer.Exit(EXIT_FAILURE) from None


@app.command("reload")
def reload(
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds to wait for the answer."),
) -> None:
    """Make the running gateway re-read its settings, as SIGHUP does: allowlists and limits apply at once,
    a platform whose settings changed reconnects, runs in flight go on. A bad configuration is refused."""
    from hermes.config.writer import home_paths
    from hermes.gateway.control import ask, control_socket_path

    path = control_socket_path(home_paths())
    try:
        answer = ask(path, {"request": "reload"}, timeout)
    except TimeoutError:
        print(f"The gateway did not answer within {timeout:g} s (socket {path}).", file=sys.stderr)
        raise typer.Exit(EXIT_FAILURE) from None
    except (OSError, ValueError):
        print(f"The gateway is not running (nothing answers at {path}); nothing to reload.", file=sys.stderr)
        raise typer.Exit(EXIT_FAILURE) from None
    if not answer.get("ok"):
        print(f"The gateway answered with an error: {answer.get('error')}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILURE)
    result = answer["reload"]
    if result["refused"]:
        print(f"reload refused, the settings in force stay: {'; '.join(result['refused'])}", file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG)
    lines = [f"Reloaded: {', '.join(result['applied']) or 'nothing changed'}"]
    if result["restarted"]:
        lines.append(f"  reconnected: {', '.join(result['restarted'])}")
    if result["needs_restart"]:
        lines.append(f"  needs `hermes gateway restart`: {', '.join(result['needs_restart'])}")
    typer.echo("\n".join(lines))


def reexec_as_run(argv: list[str]) -> None:
    """`hermes gateway [options]` becomes `hermes gateway run [options]` in a new process image, so the
    process command line says `hermes gateway run`, which process managers look for."""
    import os

    os.execv(sys.executable, [sys.executable, argv[0], "gateway", "run", *argv[2:]])


@app.callback(invoke_without_command=True)
def gateway(ctx: typer.Context) -> None:
    """Without a subcommand: the same as `hermes gateway run`."""
    if ctx.invoked_subcommand is None:
        reexec_as_run(sys.argv)
