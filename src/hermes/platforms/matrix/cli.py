"""`hermes matrix status|reset-crypto`: the bot's end-to-end encryption, seen and repaired from the shell.

The Matrix package's contribution to the `hermes` command (`MatrixPlatform.commands`); the CLI imports it
only when `hermes matrix ...` runs.

`status` reads the crypto store directly and asks the homeserver (read-only) about the device; it works
while the gateway runs. `reset-crypto` needs the gateway stopped (every replica's, on PostgreSQL): it
moves the store into a backup beside it, or on PostgreSQL renames its schema, after a confirmation
(`--yes` skips it, for scripts).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import typer

from hermes.cli.common import EXIT_CONFIG, EXIT_FAILURE, load_or_exit
from hermes.platforms.matrix.settings import MatrixSettings

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

# The lease through which one replica at a time holds the Matrix connection (gateway/replicas.py).
MATRIX_LEASE = "platform:matrix"

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
        in_use = await matrix_holder(config) is not None if options.database_url else None
        found = await crypto_status(options, token, olm_problem(), in_use=in_use)
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
    config = load_or_exit()
    url = config.settings.store.url
    if url is not None:
        _reset_in_database(config, url, yes)
    else:
        _reset_files(config, yes)
    typer.echo(
        "Next: the device that used this store still has the old identity's keys on the homeserver, so "
        "give the bot a new device (a new access token; with MATRIX_PASSWORD, unset MATRIX_DEVICE_ID and "
        "delete platforms/matrix/session.json) or delete that device on the homeserver, then restart the "
        "gateway. In Element, /discardsession in rooms with the bot makes it share new keys."
    )


def _reset_files(config: LoadedConfig, yes: bool) -> None:
    from hermes.platforms.matrix.crypto.errors import CryptoRefused
    from hermes.platforms.matrix.crypto.store_files import (
        StoreLock,
        StorePaths,
        backup_and_clear,
        read_owners,
    )

    paths = StorePaths.under(config.paths.platform_dir("matrix"))
    if not any(path.exists() for path in paths.db_files()):
        typer.echo(f"No crypto store at {paths.db}: nothing to reset.")
        raise typer.Exit(0)
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
        _confirm(str(paths.db), owners, "moves it into a backup beside it", yes)
        backup = backup_and_clear(paths, datetime.now())
    finally:
        lock.release()
    typer.echo(f"Backed up to {backup}; the crypto store is now empty.")


def _reset_in_database(config: LoadedConfig, url: str, yes: bool) -> None:
    from hermes.platforms.matrix.crypto import store_pg
    from hermes.platforms.matrix.crypto.location import SCHEMA

    label = f"schema {SCHEMA} of the PostgreSQL store"

    async def look() -> tuple[bool, str, str | None]:
        holder = await matrix_holder(config)
        async with store_pg.connected(url) as conn:
            found = await store_pg.exists(conn)
            owners = await store_pg.read_owners(conn) if found else []
        return found, ", ".join(f"{o.user_id} (device {o.device_id})" for o in owners), holder

    async def clear() -> str | None:
        if await matrix_holder(config) is not None:
            return None
        async with store_pg.connected(url) as conn:
            return await store_pg.backup_and_clear(conn, datetime.now())

    try:
        found, owners, holder = asyncio.run(look())
        if not found:
            typer.echo(f"No crypto store in {label}: nothing to reset.")
            raise typer.Exit(0)
        if holder is None:
            _confirm(label, owners, f"renames the schema to {store_pg.BACKUP_PREFIX}<time>", yes)
            backup = asyncio.run(clear())
    except ConnectionError as exc:
        print(f"hermes matrix: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILURE) from None
    if holder is not None or backup is None:
        print(
            f"hermes matrix: a running gateway ({holder or 'another replica'}) holds Matrix and uses the "
            f"crypto store in {label}: stop every gateway first",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_FAILURE)
    typer.echo(f"Backed up to schema {backup}; the crypto store is now empty.")


def _confirm(label: str, owners: str, how: str, yes: bool) -> None:
    typer.echo(f"Crypto store: {label}")
    typer.echo(f"Holds the encryption identity of: {owners or 'nobody yet'}")
    typer.echo(f"Resetting {how}. Messages encrypted for the old identity can no longer be read by the bot.")
    if not yes:
        typer.confirm("Reset the crypto store?", abort=True)


async def matrix_holder(config: LoadedConfig) -> str | None:
    """The replica holding the Matrix lease (and with it the crypto store), on PostgreSQL; None when the
    lease is free or expired."""
    from hermes.store import Store

    async with await Store.configured(config.settings.store, config.paths.state_db) as store:
        now = await store.leases.now()
        for lease in await store.leases.all():
            if lease.name == MATRIX_LEASE and lease.expires_at > now:
                return lease.holder
    return None
