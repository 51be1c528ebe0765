"""Opening state.db safely: refuse what we must not touch, then bring the schema up to date.

Everything here runs on the database's worker thread. Nothing is written to an existing file until it has
passed the checks (a SQLite database, intact, ours, not newer than this code), so a refused file stays
byte-identical.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from hermes.store.dialect import SQLITE
from hermes.store.errors import (
    CorruptDatabaseError,
    ForeignDatabaseError,
    MigrationError,
    NewerSchemaError,
    StoreError,
)
from hermes.store.migrations import Migration, bundled

log = logging.getLogger(__name__)

# Marks the file as a Hermes gateway database ("HRMS") so a foreign SQLite file is told apart from ours.
APPLICATION_ID = 0x48524D53
BUSY_TIMEOUT_MS = 5000
# Keeps the WAL file from staying large after a burst of writes.
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

_SCHEMA_VERSION_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
);
"""


def connect(path: Path, migrations: Sequence[Migration] | None) -> sqlite3.Connection:
    """Open (creating if missing) and migrate the database at ``path``; the caller's thread owns it.

    ``migrations`` defaults to the bundled ones.
    """
    if migrations is None:
        migrations = bundled()
    _prepare_file(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, cached_statements=256)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open database: {exc}") from exc
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        latest = migrations[-1].version if migrations else 0
        current = _checked_version(conn, path, latest)
        _use_wal(conn, path)
        _migrate(conn, path, migrations, current)
    except BaseException:
        conn.close()
        raise
    return conn


def _prepare_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    try:
        # Transcripts are private; SQLite gives its -wal and -shm files the database file's mode.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _checked_version(conn: sqlite3.Connection, path: Path, latest: int) -> int:
    """The schema version recorded in the file, after refusing anything we must not write to."""
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise CorruptDatabaseError(path, "integrity check failed: " + "; ".join(problems[:3]))
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            return 0
        application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if application_id != APPLICATION_ID:
            raise ForeignDatabaseError(path, application_id)
        found = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorcode & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            raise CorruptDatabaseError(path, str(exc)) from exc
        raise StoreError(f"{path}: cannot read database: {exc}") from exc
    if found > latest:
        raise NewerSchemaError(path, found, latest)
    return found


def _use_wal(conn: sqlite3.Connection, path: Path) -> None:
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        # Some network filesystems cannot share the WAL index; the store still works, only slower.
        log.warning("%s: SQLite refused WAL mode (journal_mode is %s)", path, mode)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")


def _migrate(conn: sqlite3.Connection, path: Path, migrations: Sequence[Migration], current: int) -> None:
    for migration in migrations:
        if migration.version <= current:
            continue
        try:
            # executescript commits any open transaction first, so the script opens its own.
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{_SCHEMA_VERSION_DDL}\n{SQLITE.migration_sql(migration.sql)}"
            )
            if current == 0:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(
                f"{path}: migration {migration.label} failed: {exc}; the database stays at version {current}"
            ) from exc
        log.info("%s: applied migration %s", path, migration.label)
        current = migration.version


def inspect(path: Path) -> tuple[int, int]:
    """(version in the file, latest this code knows), read-only: for health checks that must not migrate.
    Raises the same errors as opening for real would."""
    latest = bundled()[-1].version
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open database: {exc}") from exc
    try:
        return _checked_version(conn, path, latest), latest
    finally:
        conn.close()
