"""Moving a single-host crypto store into the PostgreSQL store, at the first start there.

A bot that ran with state.db keeps its Olm account, sessions and room keys in
`HERMES_HOME/platforms/matrix/store/crypto.db`. When the gateway (the replica holding the Matrix lease)
finds the database's crypto store empty and that file holding this very account and device, it copies
every row into the database, with the file's secret (so the pickles open unchanged), in one transaction,
then moves the files into `moved-to-postgresql-<time>/` beside them: they are kept, and never imported
twice. A file of another account or device is left alone, with a warning.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mautrix.crypto import PgCryptoStateStore, PgCryptoStore
from mautrix.util.async_db import Database

from hermes.platforms.matrix.crypto import store_pg
from hermes.platforms.matrix.crypto.errors import CryptoRefused
from hermes.platforms.matrix.crypto.location import SCHEMA, SECRET_TABLE
from hermes.platforms.matrix.crypto.store_files import (
    Owner,
    StoreLock,
    StorePaths,
    backup_and_clear,
    load_secret,
    read_owners,
)

log = logging.getLogger(__name__)

MOVED_PREFIX = "moved-to-postgresql"
# mautrix's schema versions: the database's own, brought to the latest by mautrix on both sides.
_NOT_COPIED = {"crypto_version", "mx_version", SECRET_TABLE}


@dataclass
class LocalStore:
    """A single-host store of this account and device, locked against a gateway still using it."""

    paths: StorePaths
    secret: bytes
    lock: StoreLock

    @classmethod
    async def find(cls, paths: StorePaths, user_id: str, device_id: str) -> LocalStore | None:
        if not await asyncio.to_thread(paths.db.exists):
            return None
        try:
            owners = await asyncio.to_thread(read_owners, paths.db)
        except CryptoRefused as exc:
            log.warning("matrix: not moving the crypto store %s into PostgreSQL: %s", paths.db, exc)
            return None
        if not owners:
            return None
        if owners != [Owner(user_id, device_id)]:
            held = ", ".join(f"{o.user_id} (device {o.device_id or 'unknown'})" for o in owners)
            log.warning(
                "matrix: the crypto store %s holds the identity of %s, not of %s (device %s): it is not "
                "moved into PostgreSQL, and this device starts with an empty store there",
                paths.db,
                held,
                user_id,
                device_id,
            )
            return None
        lock = await asyncio.to_thread(StoreLock.acquire, paths)
        try:
            secret = await asyncio.to_thread(load_secret, paths, may_create=False)
        except CryptoRefused as exc:
            await asyncio.to_thread(lock.release)
            log.warning("matrix: not moving the crypto store %s into PostgreSQL: %s", paths.db, exc)
            return None
        except BaseException:
            await asyncio.to_thread(lock.release)
            raise
        return cls(paths, secret, lock)

    async def release(self) -> None:
        await asyncio.to_thread(self.lock.release)


async def import_local_store(local: LocalStore, url: str) -> None:
    """Copy `local` into the database's crypto store, whose tables mautrix has created."""
    try:
        await _bring_up_to_date(local.paths)
        async with store_pg.connected(url) as conn:
            columns = await _target_columns(conn)
            tables = await asyncio.to_thread(_read_tables, local.paths, columns)
            async with store_pg.exclusive(conn):
                if await store_pg.read_owners(conn):
                    raise CryptoRefused(
                        f"another replica created a crypto store in schema {SCHEMA} while this one was "
                        f"moving {local.paths.db} into it: restart the gateway"
                    )
                copied = 0
                for table, (names, rows) in tables.items():
                    # Only what mautrix cached before an account existed (no identity): replaced.
                    await conn.execute(f'DELETE FROM {SCHEMA}."{table}"')
                    if rows:
                        await conn.copy_records_to_table(
                            table, records=rows, columns=names, schema_name=SCHEMA
                        )
                    copied += len(rows)
                await conn.execute(
                    f"INSERT INTO {SCHEMA}.{SECRET_TABLE} (id, secret) VALUES (1, $1) "
                    "ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, created_at = now()",
                    local.secret,
                )
        moved = await asyncio.to_thread(backup_and_clear, local.paths, datetime.now(), MOVED_PREFIX)
        log.info(
            "matrix: moved the crypto store %s into schema %s of the PostgreSQL store (%d rows); the files "
            "are kept in %s",
            local.paths.db,
            SCHEMA,
            copied,
            moved,
        )
    finally:
        await local.release()


async def _bring_up_to_date(paths: StorePaths) -> None:
    """mautrix's upgrades run on the file, so both sides have the same tables and columns."""
    url = f"sqlite:///{paths.db}"
    state_db = Database.create(url, upgrade_table=PgCryptoStateStore.upgrade_table)
    crypto_db = Database.create(url, upgrade_table=PgCryptoStore.upgrade_table)
    crypto_db.override_pool(state_db)
    await state_db.start()
    try:
        await crypto_db.start()
    finally:
        await state_db.stop()


async def _target_columns(conn: Any) -> dict[str, dict[str, str]]:
    rows = await conn.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
        SCHEMA,
    )
    columns: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["table_name"] not in _NOT_COPIED:
            columns.setdefault(row["table_name"], {})[row["column_name"]] = row["data_type"]
    return columns


def _read_tables(
    paths: StorePaths, columns: dict[str, dict[str, str]]
) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    connection = sqlite3.connect(paths.db, detect_types=sqlite3.PARSE_DECLTYPES)
    try:
        present = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        tables = {}
        for table, types in columns.items():
            if table not in present:
                continue
            have = {row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')}
            names = [name for name in types if name in have]
            quoted = ", ".join(f'"{name}"' for name in names)
            rows = [
                tuple(_convert(value, types[name]) for name, value in zip(names, row, strict=True))
                for row in connection.execute(f'SELECT {quoted} FROM "{table}"')
            ]
            tables[table] = (names, rows)
        return tables
    finally:
        connection.close()


def _convert(value: Any, data_type: str) -> Any:
    """SQLite's loose types into what the PostgreSQL column holds."""
    if value is None:
        return None
    if data_type == "boolean":
        return bool(value)
    if data_type == "bytea":
        return value.encode() if isinstance(value, str) else bytes(value)
    if data_type in ("smallint", "integer", "bigint"):
        return int(value)
    if data_type.startswith("timestamp") and isinstance(value, str):
        return datetime.fromisoformat(value)
    if data_type in ("text", "character", "character varying", "jsonb", "json"):
        return value if isinstance(value, str) else str(value)
    return value
