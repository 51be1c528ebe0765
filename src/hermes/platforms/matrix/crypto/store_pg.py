"""The crypto store on PostgreSQL (HERMES_DATABASE_URL set): mautrix's crypto and state tables in a schema
of their own, `matrix_crypto`, beside Hermes's tables, so every replica that takes the Matrix lease finds
the same Olm account, sessions and room keys.

- The schema keeps mautrix's tables (and its migrations) out of Hermes's own schema and its checks.
- `hermes_pickle_secret` holds the 32 random bytes behind the pickle key, made once by the first replica
  (a one-row table, inserted under an advisory lock), so every replica opens the same pickles. The
  database URL is not used as a secret: it changes with a password rotation, and the pickles would not.
- No lock is held while the store is open: the platform's lease already lets one replica at a time
  connect Matrix, and a session-level lock of a dead host would outlive it until TCP gives up.

Reads and writes here go through asyncpg, the driver mautrix's PostgreSQL store uses.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg

from hermes.platforms.matrix.crypto.errors import CryptoRefused
from hermes.platforms.matrix.crypto.location import SCHEMA, SECRET_TABLE
from hermes.platforms.matrix.crypto.store_files import SECRET_BYTES, Owner, StoredAccount

BACKUP_PREFIX = f"{SCHEMA}_backup_"
# Serialises creating the schema, the secret and an import between processes; any constant unlikely to
# be used by another application of the database does.
_ADVISORY_KEY = 0x4D58_4352_5950_544F  # "MXCRYPTO"


def pool_args(pool_size: int) -> dict[str, Any]:
    """mautrix's pool: its own small one (asyncpg's default keeps 10 connections), on the schema. mautrix
    would end the whole process on an asyncpg internal error; the gateway's other platforms must go on."""
    return {
        "min_size": 1,
        "max_size": pool_size,
        "server_settings": {"search_path": SCHEMA},
        "meow_exit_on_ice": False,
    }


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    try:
        conn = await asyncpg.connect(url, server_settings={"search_path": SCHEMA})
    except (OSError, asyncpg.PostgresError) as exc:
        raise ConnectionError(f"cannot connect to the PostgreSQL store for the crypto store ({exc})") from exc
    try:
        yield conn
    finally:
        await conn.close()


async def prepare(conn: asyncpg.Connection) -> None:
    """The schema and the secret's table, created when missing."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_KEY)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{SECRET_TABLE} ("
            "id INTEGER PRIMARY KEY CHECK (id = 1), secret BYTEA NOT NULL, "
            "created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )


async def exists(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS(SELECT 1 FROM pg_namespace WHERE nspname = $1)", SCHEMA))


async def _has_table(conn: asyncpg.Connection, table: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{SCHEMA}.{table}"))


async def read_owners(conn: asyncpg.Connection) -> list[Owner]:
    """The accounts the store holds; [] before mautrix created its tables."""
    if not await _has_table(conn, "crypto_account"):
        return []
    rows = await conn.fetch(f"SELECT account_id, device_id FROM {SCHEMA}.crypto_account")
    return [Owner(str(row["account_id"]), str(row["device_id"] or "")) for row in rows]


async def device_of(url: str, user_id: str) -> str | None:
    """The device whose identity the store holds for `user_id`: a replica logging in with a password
    and no device of its own yet takes this one, instead of a new device the store would refuse."""
    async with connected(url) as conn:
        if not await exists(conn):
            return None
        owners = await read_owners(conn)
    return next((owner.device_id for owner in owners if owner.user_id == user_id and owner.device_id), None)


async def read_secret(conn: asyncpg.Connection) -> bytes | None:
    if not await _has_table(conn, SECRET_TABLE):
        return None
    value = await conn.fetchval(f"SELECT secret FROM {SCHEMA}.{SECRET_TABLE} WHERE id = 1")
    return bytes(value) if value is not None else None


async def load_secret(conn: asyncpg.Connection, *, may_create: bool) -> bytes:
    """The store's secret, made once for every replica; `may_create` is False once the store holds an
    account, whose pickles only the original secret can open."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_KEY)
        secret = await read_secret(conn)
        if secret is None:
            if not may_create:
                raise CryptoRefused(
                    f"{SCHEMA}.{SECRET_TABLE} is missing, and without it the Olm account in schema {SCHEMA} "
                    "cannot be opened: "
                    "restore that table from a backup, or run `hermes matrix reset-crypto` and give the "
                    "bot a new device"
                )
            secret = secrets.token_bytes(SECRET_BYTES)
            await put_secret(conn, secret)
    if len(secret) != SECRET_BYTES:
        raise CryptoRefused(
            f"{SCHEMA}.{SECRET_TABLE} holds {len(secret)} bytes instead of {SECRET_BYTES}: restore it from "
            "a backup"
        )
    return secret


async def put_secret(conn: asyncpg.Connection, secret: bytes) -> None:
    await conn.execute(f"INSERT INTO {SCHEMA}.{SECRET_TABLE} (id, secret) VALUES (1, $1)", secret)


async def read_accounts(conn: asyncpg.Connection) -> list[StoredAccount]:
    if not await _has_table(conn, "crypto_account"):
        return []
    rows = await conn.fetch(
        f"SELECT a.account_id, a.device_id, a.shared, a.account, "
        f"(SELECT count(*) FROM {SCHEMA}.crypto_megolm_inbound_session s WHERE s.account_id = a.account_id), "
        f"(SELECT count(*) FROM {SCHEMA}.crypto_olm_session o WHERE o.account_id = a.account_id) "
        f"FROM {SCHEMA}.crypto_account a ORDER BY a.account_id"
    )
    return [
        StoredAccount(
            Owner(str(row[0]), str(row[1] or "")), bool(row[2]), bytes(row[3]), int(row[4]), int(row[5])
        )
        for row in rows
    ]


async def backup_and_clear(conn: asyncpg.Connection, now: datetime) -> str | None:
    """Renames the schema (the secret inside it) to `matrix_crypto_backup_<time>`; None when there is no
    store. The next start creates an empty one."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_KEY)
        if not await exists(conn):
            return None
        backup = f"{BACKUP_PREFIX}{now.strftime('%Y%m%dt%H%M%S')}"
        await conn.execute(f'ALTER SCHEMA {SCHEMA} RENAME TO "{backup}"')
    return backup


@contextlib.asynccontextmanager
async def exclusive(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """One transaction that no other process creating the secret or importing a store runs beside."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_KEY)
        yield
