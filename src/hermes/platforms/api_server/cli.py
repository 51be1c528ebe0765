"""`hermes api key` and `hermes api keys create|list|revoke`: the API server's admin key, and named client
keys with scopes.

The admin key is `API_SERVER_KEY` (in `.env`); `hermes api key` prints it, generating one first when there
is none, as the gateway would at start. Client keys live in state.db as hashes: `create` shows a key once,
and it cannot be shown again. They work at once, without a restart.

The API server package's contribution to the `hermes` command (`ApiServerPlatform.commands`); the CLI
imports it only when `hermes api ...` runs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import typer

from hermes.cli.common import EXIT_FAILURE, load_or_exit

if TYPE_CHECKING:
    from hermes.store import Store

app = typer.Typer(
    help="The API server's keys: print the admin key, manage client keys.", no_args_is_help=True
)
keys_app = typer.Typer(help="Named client keys with scopes (chat, read, admin).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

T = TypeVar("T")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PREFIX = "hermes-"


@app.command("key")
def key() -> None:
    """Print the admin key (API_SERVER_KEY), the one `Authorization: Bearer …` needs."""
    from hermes.platforms.api_server.keys import ENV_NAME, key_problem, new_key, write_key
    from hermes.platforms.api_server.settings import ApiServerSettings

    config = load_or_exit()
    current = config.section(ApiServerSettings).key
    if current:
        problem = key_problem(current)
        if problem is not None:
            typer.echo(
                f"{ENV_NAME} is {problem}; set a long random value in {config.paths.env_file}", err=True
            )
            raise typer.Exit(EXIT_FAILURE)
        typer.echo(current)
        return
    generated = new_key()
    write_key(config.paths.env_file, generated)
    typer.echo(f"No {ENV_NAME} was set; generated one into {config.paths.env_file}.", err=True)
    typer.echo(generated)


def _with_store(action: Callable[[Store], Awaitable[T]]) -> T:
    from hermes.store import Store, StoreError

    config = load_or_exit()

    async def main() -> T:
        async with await Store.configured(config.settings.store, config.paths.state_db) as store:
            return await action(store)

    try:
        return asyncio.run(main())
    except StoreError as exc:
        typer.echo(f"hermes api: {exc}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None


_SCOPE = typer.Option(
    ["chat"], "--scope", "-s", help="chat (run the agent, see its own sessions), read, or admin; repeatable."
)
_KEY_NAME = typer.Argument(..., help="A name for the client, shown in logs (letters, digits, . _ -).")


@keys_app.command("create")
def create(name: str = _KEY_NAME, scope: list[str] = _SCOPE) -> None:
    """Create a client key and print it (once: only its hash is kept)."""
    from hermes.platforms.api_server.keys import new_key

    if not _NAME.fullmatch(name) or name == "admin":
        typer.echo(
            "hermes api keys: the name must be 1-64 letters, digits, . _ - (and not 'admin')", err=True
        )
        raise typer.Exit(EXIT_FAILURE)
    secret = _PREFIX + new_key()

    async def add(store: Store) -> None:
        await store.api_keys.create(name, secret, scope)

    try:
        _with_store(add)
    except ValueError as exc:
        typer.echo(f"hermes api keys: {exc}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    typer.echo(f"Created key {name!r} ({', '.join(sorted(set(scope)))}). It is shown only now:", err=True)
    typer.echo(secret)


@keys_app.command("list")
def list_keys() -> None:
    """The client keys: name, scopes, when created and last used, and whether revoked."""
    keys = _with_store(lambda store: store.api_keys.all())
    if not keys:
        typer.echo("No client keys (the admin key is API_SERVER_KEY: `hermes api key`).")
        return
    typer.echo(f"{'NAME':<24} {'SCOPES':<18} {'CREATED':<17} {'LAST USED':<17} STATE")
    for item in keys:
        state = f"revoked {_when(item.revoked_at)}" if item.revoked_at else "active"
        scopes = ",".join(item.scopes)
        used = _when(item.last_used_at)
        typer.echo(f"{item.name:<24} {scopes:<18} {_when(item.created_at):<17} {used:<17} {state}")


@keys_app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The key's name.")) -> None:
    """Revoke a client key: it stops working at once."""
    if not _with_store(lambda store: store.api_keys.revoke(name)):
        typer.echo(f"hermes api keys: no active key named {name!r}", err=True)
        raise typer.Exit(EXIT_FAILURE)
    typer.echo(f"Revoked {name!r}.")


def _when(seconds: float | None) -> str:
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M") if seconds else "never"
