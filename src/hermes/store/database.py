"""The store's connections, each owned by one worker thread.

All database work runs on dedicated threads that own their connections: the event loop never blocks on
disk or network. SQLite gets one thread and its only connection, so writes are serialised by the thread's
queue rather than by lock contention; PostgreSQL gets a pool of them (`store.pool_size`) sharing one queue.
A thread hands results back a batch at a time: under load one wake-up of the event loop settles every call
that finished meanwhile, where a thread pool wakes it once per call (on the 2-core reference machine a
wake-up costs more CPU than the SQL it delivers).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from hermes.store.connection import Connection
from hermes.store.dialect import SQLITE, Dialect
from hermes.store.errors import StoreError
from hermes.store.migrations import Migration
from hermes.store.schema import connect

T = TypeVar("T")

_Job = tuple[Callable[["_Worker"], Any], "asyncio.Future[Any]"]
_Outcome = tuple["asyncio.Future[Any]", bool, Any]


class Database:
    """An open store. Create with ``await Database.open(path)`` (SQLite) or ``await open_database(url)``
    (either engine); finish with ``await db.close()``."""

    def __init__(
        self, where: str, dialect: Dialect, workers: Sequence[_Worker], path: Path | None = None
    ) -> None:
        self._where = where
        self._path = path
        self.dialect = dialect
        self._workers = tuple(workers)
        self._jobs = self._workers[0].jobs
        self._closed = False
        self.integrity_errors: tuple[type[Exception], ...] = ()

    @property
    def path(self) -> Path | None:
        """The SQLite file; None on PostgreSQL."""
        return self._path

    @property
    def where(self) -> str:
        """The file, or the server's URL without its password, for messages."""
        return self._where

    @classmethod
    async def open(cls, path: str | Path, *, migrations: Sequence[Migration] | None = None) -> Database:
        """Open the SQLite database at ``path``, creating it and its directory when missing, and migrate it.

        Raises ``CorruptDatabaseError``, ``ForeignDatabaseError`` or ``NewerSchemaError`` (the file is left
        untouched), ``MigrationError`` (the failed step is rolled back) or ``StoreError``.
        """
        db_path = Path(path)
        opener = functools.partial(_open_sqlite, db_path, migrations)
        return await cls.start(
            str(db_path), SQLITE, opener, (sqlite3.Error,), (sqlite3.IntegrityError,), size=1, path=db_path
        )

    @classmethod
    async def start(
        cls,
        where: str,
        dialect: Dialect,
        opener: Callable[[], Any],
        engine_errors: tuple[type[Exception], ...],
        integrity_errors: tuple[type[Exception], ...],
        *,
        size: int,
        path: Path | None = None,
    ) -> Database:
        """Start ``size`` worker threads; the first connection is opened (and its errors raised) here.

        ``engine_errors`` become ``StoreError``; ``integrity_errors`` (a constraint refused a write) are
        what repositories catch to tell the caller which row was missing or taken."""
        jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        workers = [_Worker(where, jobs, opener, engine_errors) for _ in range(size)]
        for worker in workers:
            worker.start()
        db = cls(where, dialect, workers, path)
        db.integrity_errors = integrity_errors
        try:
            await db._call(_Worker.ensure_connected)
        except BaseException:
            # Queued behind the opening, so whatever it opened (it may finish after a cancel) is closed.
            db._stop()
            raise
        return db

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` on a database thread and return its result.

        The engine's errors come back as ``StoreError``; anything else ``fn`` raises comes back unchanged.
        A cancelled caller is not told whether ``fn`` ran: it either never starts or runs to completion.
        """
        if self._closed:
            raise StoreError(f"{self._where}: database is closed")
        return await self._call(functools.partial(_Worker.apply, fn=fn))

    async def transaction(self, fn: Callable[[Connection], T]) -> T:
        """Like ``run``, inside one write transaction: all of ``fn``'s statements commit, or none do."""
        return await self.run(functools.partial(_in_transaction, fn, self.dialect))

    async def close(self) -> None:
        """Finish queued work, then close the connections. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*self._stop())

    def _call(self, fn: Callable[[_Worker], T]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, future))
        return future

    def _stop(self) -> list[asyncio.Future[None]]:
        loop = asyncio.get_running_loop()
        stopped = []
        for worker in self._workers:
            worker.finished = loop.create_future()
            stopped.append(worker.finished)
        # One end marker per worker: each takes one and leaves, after every job queued before it.
        for _ in self._workers:
            self._jobs.put(None)
        return stopped


def _open_sqlite(path: Path, migrations: Sequence[Migration] | None) -> sqlite3.Connection:
    return connect(path, None if migrations is None else tuple(migrations))


class _Worker(threading.Thread):
    def __init__(
        self,
        where: str,
        jobs: queue.SimpleQueue[_Job | None],
        opener: Callable[[], Any],
        engine_errors: tuple[type[Exception], ...],
    ) -> None:
        # A daemon, so that a database left open does not keep the process alive; SQLite survives being cut
        # off mid-write like any crash, and callers only go on once their call has returned.
        super().__init__(name="hermes-state-db", daemon=True)
        self.where = where
        self.jobs = jobs
        self.conn: Any = None
        self.finished: asyncio.Future[None] | None = None
        self._opener = opener
        self._engine_errors = engine_errors

    def ensure_connected(self) -> None:
        if self.conn is None:
            self.conn = self._opener()

    def apply(self, fn: Callable[[Connection], T]) -> T:
        try:
            self.ensure_connected()
            return fn(self.conn)
        except self._engine_errors as exc:
            if getattr(self.conn, "closed", False):
                # A server connection that died (server restart, terminated backend): the next call
                # opens a new one instead of failing for ever.
                self.conn = None
            raise StoreError(f"{self.where}: {exc}") from exc

    def _close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(*self._engine_errors):
                self.conn.close()
            self.conn = None

    def run(self) -> None:
        running = True
        while running:
            job = self.jobs.get()
            finished: list[_Outcome] = []
            while True:
                if job is None:
                    running = False
                    break
                fn, future = job
                # A caller cancelled before its call started: the call never runs.
                if not future.cancelled():
                    try:
                        finished.append((future, True, fn(self)))
                    except BaseException as exc:
                        finished.append((future, False, exc))
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
            if not running:
                self._close()
                if self.finished is not None:
                    finished.append((self.finished, True, None))
            _deliver(finished)


def _deliver(finished: list[_Outcome]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in finished:
        by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
    for loop, outcomes in by_loop.items():
        # A closed loop has nobody waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: list[_Outcome]) -> None:
    for future, ok, value in outcomes:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _in_transaction(fn: Callable[[Connection], T], dialect: Dialect, conn: Connection) -> T:
    conn.execute(dialect.begin)
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result
