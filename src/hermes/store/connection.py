"""What a repository sees of a database connection, whichever engine is behind it.

Repositories are plain functions of a connection, run on the store's worker threads. SQLite's own
`sqlite3.Connection` fits these protocols as it is; the PostgreSQL backend wraps psycopg's connection to fit
them (placeholders and rows translated in `store.postgres`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol


class Row(Protocol):
    """One result row, readable by position and by column name."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


class Rows(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """`execute` takes SQLite-style `?` placeholders on every engine."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows: ...
