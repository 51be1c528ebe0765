"""`hermes matrix status|reset-crypto`: the bot's end-to-end encryption, seen and repaired from the shell.

The Matrix package's contribution to the `hermes` command (`MatrixPlatform.commands`); the CLI imports it
only when `hermes matrix ...` runs.

`status` reads the crypto store directly and asks the homeserver (read-only) about the device; it works
while the gateway runs. `reset-crypto` needs the gateway stopped: it moves the store into a backup
beside it, after a confirmation (`--yes` skips it, for scripts).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

import typer

from hermes.cli.common import EXIT_CONFIG, EXIT_FAILURE, load_or_exit
from hermes.platforms.matrix.settings import MatrixSettings

app = typer.Typer(
    help="Matrix: end-to-end encryption status and recovery.", no_args_is_help=True, add_completion=False
)


@app.command("status")
def status() -> None:
    """Device id, E2EE mode, key state and cross-signing state."""
    from hermes.config import ConfigError
    from hermes.platforms.matrix.crypto.setup import olm_problem
    from hermes.platforms.matrix.crypto.status import crypto_status
    from hermes.platforms.matrix.options import MatrixOptions
    from hermes.platforms.matrix.session import stored_token

    config = load_or_exit()
    if not config.section(MatrixSettings).configured:
        print(
            "hermes matrix: Matrix is not configured (set MATRIX_HOMESERVER and credentials)", file=sys.stderr
        )
        raise typer.Exit(EXIT_CONFIG)
    try:
        options = MatrixOptions.from_config(config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG) from None

    async def gather() -> list[tuple[str, str]]:
        login = options.login
        token = login.access_token or await stored_token(options.state_dir, login)
        found = await crypto_status(options, token, olm_problem())
        return found.lines(recovery_key_set=options.recovery_key is not None)

    rows = asyncio.run(gather())
    width = max(len(label) for label, _ in rows)
    typer.echo("Matrix end-to-end encryption")
    for label, value in rows:
        typer.echo(f"  {label.ljust(width)}  {value}")


@app.command("reset-crypto")
def reset_crypto(
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (for scripts)."),
) -> None:
    """Back up and clear the crypto store (the bot's encryption identity). Stop the gateway first."""
    from hermes.platforms.matrix.crypto.errors import CryptoRefused
    from hermes.platforms.matrix.crypto.store_files import (
        StoreLock,
        StorePaths,
        backup_and_clear,
        read_owners,
    )

    config = load_or_exit()
    paths = StorePaths.under(config.paths.platform_dir("matrix"))
    if not any(path.exists() for path in paths.db_files()):
        typer.echo(f"No crypto store at {paths.db}: nothing to reset.")
        return
    try:
        lock = StoreLock.acquire(paths)
    except CryptoRefused:
        print(f"hermes matrix: a running gateway is using {paths.db}: stop it first", file=sys.stderr)
        raise typer.Exit(EXIT_FAILURE) from None
    try:
        try:
            owners = ", ".join(f"{o.user_id} (device {o.device_id})" for o in read_owners(paths.db))
        except CryptoRefused as exc:
            owners = f"unreadable: {exc}"
        typer.echo(f"Crypto store: {paths.db}")
        typer.echo(f"Holds the encryption identity of: {owners or 'nobody yet'}")
        typer.echo(
            "Resetting moves it into a backup beside it. Messages encrypted for the old identity can no "
            "longer be read by the bot."
        )
        if not yes:
            typer.confirm("Reset the crypto store?", abort=True)
        backup = backup_and_clear(paths, datetime.now())
    finally:
        lock.release()
    typer.echo(f"Backed up to {backup}; the crypto store is now empty.")
    typer.echo(
        "Next: the device that used this store still has the old identity's keys on the homeserver, so "
        "give the bot a new device (a new access token; with MATRIX_PASSWORD, unset MATRIX_DEVICE_ID and "
        "delete platforms/matrix/session.json) or delete that device on the homeserver, then restart the "
        "gateway. In Element, /discardsession in rooms with the bot makes it share new keys."
    )
