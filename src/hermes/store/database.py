"""The one connection to state.db, owned by one worker thread.

All SQLite work for a database runs on a single dedicated thread that owns its only connection: the event
loop never blocks on disk, and writes are serialised by the thread's queue rather than by lock contention.
The thread hands results back a batch at a time: under load one wake-up of the event loop settles every call
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

from hermes.store.errors import StoreError
from hermes.store.migrations import Migration
from hermes.store.schema import connect

T = TypeVar("T")

_Job = tuple[Callable[[], Any], "asyncio.Future[Any]"]
_Outcome = tuple["asyncio.Future[Any]", bool, Any]


class Database:
    """An open state.db. Create with ``await Database.open(path)``; finish with ``await db.close()``."""

    def __init__(self, path: Path, worker: _Worker) -> None:
        self._path = path
        self._worker = worker
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
        worker = _Worker(db_path)
        worker.start()
        try:
            await worker.call(functools.partial(worker.connect, migrations))
        except BaseException:
            # Queued behind the opening, so whatever it opened (it may finish after a cancel) is closed.
            worker.stop()
            raise
        return cls(db_path, worker)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the database thread and return its result.

        ``sqlite3`` errors come back as ``StoreError``; anything else ``fn`` raises comes back unchanged.
        A cancelled caller is not told whether ``fn`` ran: it either never starts or runs to completion.
        """
        if self._closed:
            raise StoreError(f"{self._path}: database is closed")
        return await self._worker.call(functools.partial(self._worker.apply, fn))

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Like ``run``, inside one write transaction: all of ``fn``'s statements commit, or none do."""
        return await self.run(functools.partial(_in_transaction, fn))

    async def close(self) -> None:
        """Finish queued work, then close the connection. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        await self._worker.stop()


class _Worker(threading.Thread):
    def __init__(self, path: Path) -> None:
        # A daemon, so that a database left open does not keep the process alive; SQLite survives being cut
        # off mid-write like any crash, and callers only go on once their call has returned.
        super().__init__(name="hermes-state-db", daemon=True)
        self.path = path
        self.conn: sqlite3.Connection | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()

    def call(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, future))
        return future

    def stop(self) -> asyncio.Future[None]:
        stopped = self.call(self._close)
        self._jobs.put(None)
        return stopped

    def connect(self, migrations: Sequence[Migration] | None) -> None:
        self.conn = connect(self.path, None if migrations is None else tuple(migrations))

    def apply(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self.conn is not None
        try:
            return fn(self.conn)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def run(self) -> None:
        running = True
        while running:
            job = self._jobs.get()
            finished: list[_Outcome] = []
            while True:
                if job is None:
                    running = False
                    break
                fn, future = job
                # A caller cancelled before its call started: the call never runs.
                if not future.cancelled():
                    try:
                        finished.append((future, True, fn()))
                    except BaseException as exc:
                        finished.append((future, False, exc))
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
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
