"""The store on PostgreSQL, through psycopg 3, for operators who run several replicas on one database.

psycopg's blocking connections run on the store's worker threads exactly as SQLite's do, so every
repository is one function of a connection for both engines; this module only makes psycopg's connection
look like `store.connection.Connection`: `?` placeholders and rows readable by name and position.
Migrations run in one transaction under an advisory lock, so replicas starting together migrate once.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.pq import TransactionStatus

from hermes.store.dialect import POSTGRESQL
from hermes.store.errors import MigrationError, NewerSchemaError, StoreError
from hermes.store.migrations import Migration, bundled

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key for migrations: "HRMS", as state.db's application_id.
_MIGRATION_LOCK = 0x48524D53
_CONNECT_TIMEOUT_SECONDS = 10

_SCHEMA_VERSION_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)
"""


class ForeignSchemaError(StoreError):
    """The schema holds tables that Hermes did not create. Nothing was changed."""


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:********@{netloc}"))


class PgRow:
    """A row readable as SQLite's are: by position, by column name, and by unpacking."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._index[key]] if isinstance(key, str) else self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> list[str]:
        return list(self._index)


def _rows(cursor: psycopg.Cursor[Any]) -> Callable[[Sequence[Any]], PgRow]:
    index = {column.name: position for position, column in enumerate(cursor.description or ())}
    return functools.partial(PgRow, index=index)


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s`; a literal `%` doubled. Quoted text is left alone."""
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append("%%" if char == "%" else char)
    return "".join(out)


class PgConnection:
    def __init__(self, raw: psycopg.Connection[PgRow]) -> None:
        self.raw = raw

    @property
    def closed(self) -> bool:
        return self.raw.closed

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[PgRow]:
        return self.raw.execute(translate(sql), tuple(_storable(value) for value in parameters))

    def close(self) -> None:
        self.raw.close()


def _storable(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL, which SQLite (and a chat message) can: it becomes U+FFFD.
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def connect(url: str) -> PgConnection:
    try:
        raw = psycopg.connect(
            url,
            autocommit=True,
            row_factory=_rows,
            connect_timeout=_CONNECT_TIMEOUT_SECONDS,
            application_name="hermes-gateway",
        )
    except psycopg.Error as exc:
        raise StoreError(f"{redacted(url)}: cannot connect: {_first_line(exc)}") from exc
    return PgConnection(raw)


def connect_and_migrate(url: str, migrations: Sequence[Migration] | None = None) -> PgConnection:
    """A connection to a database brought up to date; the caller's thread owns it."""
    conn = connect(url)
    try:
        _migrate(conn, redacted(url), bundled() if migrations is None else migrations)
    except BaseException:
        conn.close()
        raise
    return conn


def inspect(url: str) -> tuple[int, int]:
    """(version in the database, latest this code knows), read-only: for health checks that must not
    migrate. Raises the same errors as opening for real would."""
    latest = bundled()[-1].version
    conn = connect(url)
    try:
        return _checked_version(conn, redacted(url), latest), latest
    except psycopg.Error as exc:
        raise StoreError(f"{redacted(url)}: {_first_line(exc)}") from exc
    finally:
        conn.close()


def _migrate(conn: PgConnection, where: str, migrations: Sequence[Migration]) -> None:
    latest = migrations[-1].version if migrations else 0
    raw = conn.raw
    try:
        raw.execute("BEGIN")
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        current = _checked_version(conn, where, latest)
        raw.execute(_SCHEMA_VERSION_DDL)
        for migration in migrations:
            if migration.version <= current:
                continue
            try:
                raw.execute(POSTGRESQL.migration_sql(migration.sql).encode())
            except psycopg.Error as exc:
                raise MigrationError(
                    f"{where}: migration {migration.label} failed: {_first_line(exc)}; "
                    f"the database stays at version {current}"
                ) from exc
            raw.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                (migration.version, migration.name, time.time()),
            )
            log.info("%s: applied migration %s", where, migration.label)
        raw.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            raw.execute("ROLLBACK")
        raise


def _checked_version(conn: PgConnection, where: str, latest: int) -> int:
    tables = {
        row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    }
    if not tables:
        return 0
    if "schema_version" not in tables:
        raise ForeignSchemaError(
            f"{where} already holds tables that Hermes did not create ({', '.join(sorted(tables)[:5])}). "
            "Hermes left them untouched: give it a database (or schema) of its own."
        )
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    found = (row[0] if row is not None else None) or 0
    if found > latest:
        raise NewerSchemaError(where, found, latest)
    return int(found)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
