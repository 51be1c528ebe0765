"""Copying a state.db into PostgreSQL, for an operator moving to replicas (`hermes store migrate`).

Every table of the SQLite store is copied row by row into the same table on PostgreSQL (both brought to
the latest schema first), parents before children, rows already there kept as they are: running the
copy again adds only what is missing. The counts are compared at the end. Blocking: for the CLI.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hermes.store.postgres import PgConnection, connect_and_migrate
from hermes.store.schema import connect

# Bookkeeping of each database itself, not state to carry over.
_NOT_COPIED = {"schema_version", "leases", "replicas"}
_BATCH = 500


@dataclass(frozen=True)
class TableCopy:
    table: str
    source_rows: int
    target_rows: int

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows


def copy_to_postgres(
    state_db: Path, url: str, *, progress: Callable[[str, int], None] | None = None
) -> list[TableCopy]:
    """Copy ``state_db`` into the database at ``url``; one `TableCopy` per table, in copy order."""
    source = connect(state_db, None)
    target = connect_and_migrate(url)
    try:
        copies = []
        for table in _tables_in_dependency_order(source):
            copied = _copy_table(source, target, table)
            if progress is not None:
                progress(table, copied)
            source_rows = source.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            counted = target.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            copies.append(TableCopy(table, int(source_rows), int(counted[0]) if counted is not None else 0))
        return copies
    finally:
        source.close()
        target.close()


def _tables_in_dependency_order(conn: sqlite3.Connection) -> list[str]:
    # FTS5 keeps its index in tables named after the virtual table (messages_fts_data, ...).
    virtual = conn.execute("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL%'").fetchall()
    fts_shadow_prefixes = tuple(f"{row[0]}_" for row in virtual)
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
        )
        if row[0] not in _NOT_COPIED and not row[0].startswith(fts_shadow_prefixes)
    ]
    parents = {
        table: {row[2] for row in conn.execute(f'PRAGMA foreign_key_list("{table}")')} & set(tables)
        for table in tables
    }
    ordered: list[str] = []
    while len(ordered) < len(tables):
        ready = [t for t in tables if t not in ordered and parents[t] <= set(ordered)]
        if not ready:
            raise RuntimeError(f"foreign keys form a cycle among {sorted(set(tables) - set(ordered))}")
        ordered.extend(ready)
    return ordered


def _copy_table(source: sqlite3.Connection, target: PgConnection, table: str) -> int:
    columns = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]
    names = ", ".join(f'"{column}"' for column in columns)
    marks = ", ".join("?" for _ in columns)
    insert = f'INSERT INTO "{table}" ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING'
    copied = 0
    target.execute("BEGIN")
    try:
        for batch in _batches(source, f'SELECT {names} FROM "{table}"'):
            for row in batch:
                copied += target.execute(insert, tuple(row)).rowcount
        _advance_identity(target, table)
        target.execute("COMMIT")
    except BaseException:
        if target.in_transaction:
            target.execute("ROLLBACK")
        raise
    return copied


def _batches(conn: sqlite3.Connection, sql: str) -> Iterator[list[sqlite3.Row]]:
    cursor = conn.execute(sql)
    while batch := cursor.fetchmany(_BATCH):
        yield batch


def _advance_identity(target: PgConnection, table: str) -> None:
    """Ids copied in explicitly leave the identity's sequence behind: move it past the highest one."""
    rows = target.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = ? AND is_identity = 'YES'",
        (table,),
    ).fetchall()
    for row in rows:
        column = row[0]
        target.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', ?), "
            f'coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1, false)',
            (column,),
        )
