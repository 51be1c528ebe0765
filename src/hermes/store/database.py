"""The one connection to state.db, owned by one worker thread.

All SQLite work for a database runs on a single dedicated thread that owns its only connection: the event
loop never blocks on disk, writes are serialised by the thread's queue rather than by lock contention, and a
call costs one hand-off to that thread and back.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from hermes.store.errors import StoreError
from hermes.store.migrations import Migration
from hermes.store.schema import connect

T = TypeVar("T")


class Database:
    """An open state.db. Create with ``await Database.open(path)``; finish with ``await db.close()``."""

    def __init__(self, path: Path, executor: ThreadPoolExecutor, conn: sqlite3.Connection) -> None:
        self._path = path
        self._executor = executor
        self._conn = conn
        self._closed = False

    @property
    def path(self) -> Path:
        return self._path

    @classmethod
    async def open(cls, path: str | Path, *, migrations: Sequence[Migration] | None = None) -> Database:
        """Open the database at ``path``, creating it and its directory when missing, and migrate it.

        Raises ``CorruptDatabaseError``, ``ForeignDatabaseError`` or ``NewerSchemaError`` (the file is left
        untouched), ``MigrationError`` (the failed step is rolled back) or ``StoreError``.
        """
        db_path = Path(path)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hermes-state-db")
        opening = executor.submit(connect, db_path, None if migrations is None else tuple(migrations))
        try:
            conn = await asyncio.wrap_future(opening)
        except asyncio.CancelledError:
            # The thread may still finish opening; close what it opened once it has.
            executor.submit(_close_opened, opening)
            executor.shutdown(wait=False)
            raise
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(db_path, executor, conn)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the database thread and return its result.

        ``sqlite3`` errors come back as ``StoreError``; anything else ``fn`` raises comes back unchanged.
        A cancelled caller is not told whether ``fn`` ran: it either never starts or runs to completion.
        """
        if self._closed:
            raise StoreError(f"{self._path}: database is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Like ``run``, inside one write transaction: all of ``fn``'s statements commit, or none do."""
        return await self.run(functools.partial(_in_transaction, fn))

    async def close(self) -> None:
        """Finish queued work, then close the connection. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._conn.close)
        finally:
            self._executor.shutdown(wait=False)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return fn(self._conn)
        except sqlite3.Error as exc:
            raise StoreError(f"{self._path}: {exc}") from exc


def _in_transaction(fn: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    # IMMEDIATE takes the write lock up front, so another process (a CLI) cannot make us fail mid-way.
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _close_opened(opening: Future[sqlite3.Connection]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()
