"""`hermes store`: where the gateway keeps its state, and moving it to PostgreSQL."""

from __future__ import annotations

import typer

from hermes.cli.common import EXIT_FAILURE, load_or_exit

app = typer.Typer(help="The state store: state.db, or PostgreSQL for several replicas.", no_args_is_help=True)


@app.command("migrate")
def migrate(
    to: str = typer.Option(..., "--to", help="The PostgreSQL URL to copy into (postgresql://…)."),
) -> None:
    """Copy this home's state.db (sessions, transcripts, inbox, cursors, jobs, home channels, everything)
    into PostgreSQL. Rows already there are kept, so it can be run again; the counts are checked."""
    from hermes.gateway.pid_lock import PidLock
    from hermes.gateway.runner import HOME_LOCK_FILE
    from hermes.store import StoreError
    from hermes.store.dialect import is_postgres_url
    from hermes.store.postgres import redacted
    from hermes.store.transfer import copy_to_postgres

    if not is_postgres_url(to):
        raise typer.BadParameter("must be a postgresql:// URL", param_hint="--to")
    config = load_or_exit()
    state_db = config.paths.state_db
    if not state_db.exists():
        typer.echo(f"hermes store migrate: {state_db} does not exist: there is nothing to copy.", err=True)
        raise typer.Exit(EXIT_FAILURE)
    lock = PidLock(config.paths.home / HOME_LOCK_FILE)
    if not lock.acquire():
        typer.echo(
            f"hermes store migrate: a gateway (PID {lock.holder()}) is running on {config.paths.home}; "
            "stop it first, so that nothing changes during the copy.",
            err=True,
        )
        raise typer.Exit(EXIT_FAILURE)
    try:
        typer.echo(f"Copying {state_db} into {redacted(to)}")
        copies = copy_to_postgres(state_db, to, progress=lambda t, n: typer.echo(f"  {t}: {n} new row(s)"))
    except StoreError as exc:
        typer.echo(f"hermes store migrate: {exc}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    finally:
        lock.release()
    wrong = [c for c in copies if not c.matches]
    for copy in wrong:
        typer.echo(
            f"  {copy.table}: {copy.source_rows} row(s) in state.db but {copy.target_rows} in PostgreSQL "
            "(rows that were already there and differ are kept as they were)",
            err=True,
        )
    if wrong:
        raise typer.Exit(EXIT_FAILURE)
    total = sum(c.source_rows for c in copies)
    typer.echo(f"Verified: {total} row(s) in {len(copies)} table(s) match.")
    typer.echo("To use it: set HERMES_DATABASE_URL (or store.url in config.yaml) and restart the gateway.")
