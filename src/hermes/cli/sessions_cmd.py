"""`hermes sessions list|show|export|rm`: conversation sessions in state.db, with or without the daemon.

A session is named by its id or any unique start of it. Reading never creates state.db; `rm` deletes the
session and its transcript (the daemon starts a new session for that chat at its next message).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from hermes.cli.common import EXIT_FAILURE, load_or_exit
from hermes.transcripts import as_json, markdown, when

if TYPE_CHECKING:
    from hermes.store import Message, Session, Store

app = typer.Typer(help="List, read, export and delete conversation sessions.", no_args_is_help=True)

T = TypeVar("T")
_ID = typer.Argument(..., help="The session's id, or a unique start of it.")
_OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")


class _Failure(Exception):
    pass


def _with_store(action: Callable[[Store], Awaitable[T]], *, empty: T | None = None) -> T | None:
    """Run `action` on state.db; `empty` (or a failure) when there is no state.db yet."""
    from hermes.store import Store, StoreError

    config = load_or_exit()
    if config.settings.store.url is None and not config.paths.state_db.exists():
        if empty is None:
            typer.echo(f"No sessions yet ({config.paths.state_db} does not exist).", err=True)
            raise typer.Exit(EXIT_FAILURE)
        return empty

    async def main() -> T:
        async with await Store.configured(config.settings.store, config.paths.state_db) as store:
            return await action(store)

    try:
        return asyncio.run(main())
    except (_Failure, StoreError) as exc:
        typer.echo(f"hermes sessions: {exc}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None


async def _find(store: Store, wanted: str) -> Session:
    exact = await store.sessions.get(wanted)
    if exact is not None:
        return exact
    matches = [s for s in await store.sessions.list_sessions(limit=1_000_000) if s.id.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise _Failure(f"no session {wanted!r} (see `hermes sessions list`)")
    raise _Failure(f"{len(matches)} sessions start with {wanted!r}; give more of the id")


@app.command("list")
def list_sessions(
    platform: str | None = typer.Option(None, "--platform", help="Only this platform's sessions."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many, most recently active first."),
    open_only: bool = typer.Option(
        False, "--open", help="Only sessions that have not ended (/new ends one)."
    ),
) -> None:
    """Sessions, most recently active first."""
    from rich.console import Console
    from rich.table import Table

    async def listing(store: Store) -> list[Session]:
        return await store.sessions.list_sessions(limit=limit, platform=platform, include_ended=not open_only)

    none_yet: list[Session] = []
    sessions = _with_store(listing, empty=none_yet)
    if not sessions:
        typer.echo("No sessions.")
        return
    table = Table("id", "title", "key", "messages", "tokens", "last active", "state")
    for session in sessions:
        table.add_row(
            session.id,
            session.title or "",
            session.key,
            str(session.message_count),
            str(session.prompt_tokens + session.completion_tokens),
            when(session.updated_at),
            "ended" if session.ended_at else "open",
        )
    Console(width=200).print(table)


async def _transcript(store: Store, wanted: str) -> tuple[Session, list[Message]]:
    session = await _find(store, wanted)
    return session, await store.sessions.messages(session.id)


@app.command("show")
def show(session_id: str = _ID) -> None:
    """Print a session's transcript."""
    found = _with_store(lambda store: _transcript(store, session_id))
    assert found is not None
    typer.echo(markdown(*found), nl=False)


@app.command("export")
def export(
    session_id: str = _ID,
    fmt: str = typer.Option("md", "--format", "-f", help="md (Markdown) or json."),
    output: Path | None = _OUTPUT,
) -> None:
    """Export a session as Markdown or JSON."""
    if fmt not in ("md", "json"):
        raise typer.BadParameter(f"{fmt!r} is not md or json", param_hint="--format")
    found = _with_store(lambda store: _transcript(store, session_id))
    assert found is not None
    text = markdown(*found) if fmt == "md" else as_json(*found)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"cannot write {output}: {exc.strerror}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    typer.echo(f"Wrote session {found[0].id} to {output}.")


@app.command("rm")
def remove(
    session_id: str = _ID,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a session and its transcript."""

    async def act(store: Store) -> Session | None:
        session = await _find(store, session_id)
        if not yes:
            if not sys.stdin.isatty():
                raise _Failure("deleting cannot be undone; add --yes to do it without a terminal")
            question = f"Delete session {session.id} ({session.key}, {session.message_count} messages)?"
            if not await asyncio.to_thread(typer.confirm, question, default=False):
                return None
        await store.sessions.delete(session.id)
        return session

    deleted = _with_store(act)
    if deleted is None:
        typer.echo("Nothing was deleted.")
        return
    typer.echo(f"Deleted session {deleted.id} ({deleted.key}).")
