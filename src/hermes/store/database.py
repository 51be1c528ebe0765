"""The store's connections, each owned by one worker thread.

All database work runs on dedicated threads that own their connections: the event loop never blocks on
disk or network. SQLite gets one thread and its only connection, so writes are serialised by the thread's
queue rather than by lock contention; PostgreSQL gets a pool of them (`store.pool_size`) sharing one queue.
A thread hands results back a batch at a time: under load one wake-up of the event loop settles every call
that finished meanwhile, where a thread pool wakes it once per call (on the 2-core reference machine a
wake-up costs more CPU than the SQL it delivers).

SQLite's thread also commits transactions a batch at a time (group commit): transactions that queued up
while it was busy run in one database transaction, each in its own savepoint, so one failing leaves the
others whole, and they are answered once that one commit has succeeded. A commit is the dearest statement
of a small transaction. PostgreSQL's pool does not: one long transaction per connection would hold the row
locks of several callers at once, and two connections could deadlock where their callers would not.
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

# A job: what to run on the worker, the caller's future, and the body when it is a transaction.
_Job = tuple[Callable[["_Worker"], Any], "asyncio.Future[Any]", "Callable[[Connection], Any] | None"]
_Outcome = tuple["asyncio.Future[Any]", bool, Any]
# At most this many queued calls are taken at once: a batch's callers wait for its last call.
_MAX_BATCH = 64


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
        if size == 1 and dialect is SQLITE:
            workers[0].group_begin = dialect.begin
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
        if self._closed:
            raise StoreError(f"{self._where}: database is closed")
        in_transaction = functools.partial(_in_transaction, fn, self.dialect)
        return await self._call(functools.partial(_Worker.apply, fn=in_transaction), fn)

    async def close(self) -> None:
        """Finish queued work, then close the connections. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*self._stop())

    def _call(
        self, fn: Callable[[_Worker], T], body: Callable[[Connection], T] | None = None
    ) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, future, body))
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
        # The BEGIN of a group commit; None where transactions are committed one by one.
        self.group_begin: str | None = None
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
            jobs = [self.jobs.get()]
            while jobs[-1] is not None and len(jobs) < _MAX_BATCH:
                try:
                    jobs.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            finished: list[_Outcome] = []
            group: list[_Job] = []
            for job in jobs:
                if job is None:
                    running = False
                    break
                fn, future, body = job
                # A caller cancelled before its call started: the call never runs.
                if future.cancelled():
                    continue
                if body is not None and self.group_begin is not None:
                    group.append(job)
                    continue
                if group:
                    finished.extend(self._commit_group(group))
                    group = []
                try:
                    finished.append((future, True, fn(self)))
                except BaseException as exc:
                    finished.append((future, False, exc))
            if group:
                finished.extend(self._commit_group(group))
            if not running:
                self._close()
                if self.finished is not None:
                    finished.append((self.finished, True, None))
            _deliver(finished)

    def _commit_group(self, group: list[_Job]) -> list[_Outcome]:
        """Run transaction bodies in one transaction, each in a savepoint; all answered after the commit."""
        if len(group) == 1:
            fn, future, _ = group[0]
            try:
                return [(future, True, fn(self))]
            except BaseException as exc:
                return [(future, False, exc)]
        outcomes: list[_Outcome] = []
        try:
            self.ensure_connected()
            conn = self.conn
            conn.execute(self.group_begin)
            try:
                for _, future, body in group:
                    assert body is not None
                    conn.execute("SAVEPOINT hermes_call")
                    try:
                        outcomes.append((future, True, body(conn)))
                    except Exception as exc:
                        # A statement that failed may have ended the whole transaction (SQLite does so on
                        # a full disk or an I/O error): then ROLLBACK TO fails and everyone is told.
                        conn.execute("ROLLBACK TO hermes_call")
                        outcomes.append((future, False, self._as_store_error(exc)))
                    conn.execute("RELEASE hermes_call")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except BaseException as exc:
            failure = self._as_store_error(exc)
            return [(future, False, failure) for _, future, _ in group]
        return outcomes

    def _as_store_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, self._engine_errors):
            error = StoreError(f"{self.where}: {exc}")
            error.__cause__ = exc
            return error
        return exc


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
