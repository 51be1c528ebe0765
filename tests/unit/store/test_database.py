from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from hermes.store import (
    CorruptDatabaseError,
    Database,
    ForeignDatabaseError,
    MigrationError,
    NewerSchemaError,
    NewMessage,
    Store,
    StoreError,
)
from hermes.store import database as database_module
from hermes.store.migrations import Migration, bundled

EXPECTED_TABLES = {
    "schema_version",
    "sessions",
    "messages",
    "messages_fts",
    "cursors",
    "inbox",
    "inbox_sent",
    "jobs",
    "home_channels",
}

M1 = Migration(1, "first", "CREATE TABLE one (a INTEGER);")
M2 = Migration(2, "second", "CREATE TABLE two (b INTEGER);")


def private(path: Path) -> bool:
    return path.stat().st_mode & 0o077 == 0


def write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """Everything a refused open must leave alone: the bytes, the mtime, and the directory listing."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


async def tables(db: Database) -> set[str]:
    rows = await db.run(
        lambda conn: conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    )
    return {row[0] for row in rows}


async def versions(db: Database) -> list[tuple[int, str, float]]:
    return await db.run(
        lambda conn: [tuple(r) for r in conn.execute("SELECT version, name, applied_at FROM schema_version")]
    )


async def test_migrates_an_empty_database(db_path: Path) -> None:
    db = await Database.open(db_path)
    try:
        assert await tables(db) >= EXPECTED_TABLES
        recorded = await versions(db)
        assert [(v, n) for v, n, _ in recorded] == [(m.version, m.name) for m in bundled()]
        assert await db.run(lambda conn: conn.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"
        assert await db.run(lambda conn: conn.execute("PRAGMA foreign_keys").fetchone()[0]) == 1
        assert await db.run(lambda conn: conn.execute("PRAGMA busy_timeout").fetchone()[0]) > 0
    finally:
        await db.close()
    assert snapshot(db_path)[2] == ["state.db"]
    assert private(db_path)


async def test_reopening_changes_nothing(db_path: Path) -> None:
    db = await Database.open(db_path)
    before = await versions(db)
    schema_before = await db.run(lambda conn: conn.execute("SELECT sql FROM sqlite_master").fetchall())
    await db.close()

    db = await Database.open(db_path)
    try:
        assert await versions(db) == before
        assert await db.run(lambda conn: conn.execute("SELECT sql FROM sqlite_master").fetchall()) == (
            schema_before
        )
    finally:
        await db.close()


async def test_applies_only_the_missing_migrations(db_path: Path) -> None:
    db = await Database.open(db_path, migrations=[M1])
    first = await versions(db)
    await db.close()

    db = await Database.open(db_path, migrations=[M1, M2])
    try:
        assert {"one", "two"} <= await tables(db)
        recorded = await versions(db)
        assert recorded[0] == first[0]
        assert [v for v, _, _ in recorded] == [1, 2]
    finally:
        await db.close()


async def test_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.db"
    store = await Store.open(path)
    await store.close()
    assert path.is_file()


async def test_an_empty_file_is_a_new_database(db_path: Path) -> None:
    write(db_path, b"")
    db = await Database.open(db_path)
    try:
        assert await tables(db) >= EXPECTED_TABLES
    finally:
        await db.close()


async def test_newer_schema_is_refused_and_left_untouched(db_path: Path) -> None:
    db = await Database.open(db_path, migrations=[M1, M2])
    await db.close()
    before = snapshot(db_path)

    with pytest.raises(NewerSchemaError) as caught:
        await Database.open(db_path, migrations=[M1])

    message = str(caught.value)
    assert str(db_path) in message
    assert "version 2" in message and "(1)" in message
    assert "Upgrade Hermes" in message
    assert (caught.value.found, caught.value.supported) == (2, 1)
    assert isinstance(caught.value, StoreError)
    assert snapshot(db_path) == before


async def test_a_future_version_of_the_real_schema_is_refused(db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (999, 'from_the_future', 0)")
    conn.close()
    before = snapshot(db_path)

    with pytest.raises(NewerSchemaError, match="999"):
        await Store.open(db_path)
    assert snapshot(db_path) == before


async def test_a_file_that_is_not_a_database_is_refused_and_left_untouched(db_path: Path) -> None:
    write(db_path, b"MATRIX_HOMESERVER=https://example.org\n" * 200)
    before = snapshot(db_path)

    with pytest.raises(CorruptDatabaseError) as caught:
        await Store.open(db_path)

    assert str(db_path) in str(caught.value)
    assert snapshot(db_path) == before


async def _database_with_content(path: Path) -> None:
    store = await Store.open(path)
    session = await store.sessions.get_or_create("k", platform="matrix", chat_id="!r")
    await store.sessions.append(
        session.id, [NewMessage("user", f"message {i} " + "x" * 2000) for i in range(60)]
    )
    await store.close()


def _truncate_to_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _keep_only_the_header(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def _scribble_over_a_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size * 3 : page_size * 4] = b"\xa5" * page_size
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate_to_half, _keep_only_the_header, _scribble_over_a_page])
async def test_a_damaged_database_is_refused_and_left_untouched(db_path: Path, damage) -> None:
    await _database_with_content(db_path)
    damage(db_path)
    before = snapshot(db_path)

    with pytest.raises(CorruptDatabaseError) as caught:
        await Store.open(db_path)

    assert str(db_path) in str(caught.value)
    assert snapshot(db_path) == before


async def test_a_foreign_sqlite_database_is_refused_and_left_untouched(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, source TEXT)")
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (25)")
    conn.close()
    before = snapshot(db_path)

    with pytest.raises(ForeignDatabaseError) as caught:
        await Store.open(db_path)

    assert str(db_path) in str(caught.value)
    assert snapshot(db_path) == before


async def test_a_directory_in_place_of_the_file_is_a_clear_error(db_path: Path) -> None:
    await asyncio.to_thread(db_path.mkdir)
    with pytest.raises(StoreError, match="is a directory"):
        await Store.open(db_path)


async def test_a_failed_migration_is_rolled_back_whole(db_path: Path) -> None:
    broken = Migration(2, "broken", "CREATE TABLE half_done (a INTEGER);\nCREATE TABLE oops (;")
    db = await Database.open(db_path, migrations=[M1])
    await db.close()

    with pytest.raises(MigrationError) as caught:
        await Database.open(db_path, migrations=[M1, broken])
    assert "0002_broken" in str(caught.value) and str(db_path) in str(caught.value)

    db = await Database.open(db_path, migrations=[M1])
    try:
        assert "half_done" not in await tables(db)
        assert [v for v, _, _ in await versions(db)] == [1]
    finally:
        await db.close()


async def test_bundled_migrations_are_numbered_from_one() -> None:
    found = bundled()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].label == "0001_initial"


async def test_work_runs_on_database_threads_not_the_event_loop(store: Store, engine: str) -> None:
    idents = set(await asyncio.gather(*(store.db.run(lambda conn: threading.get_ident()) for _ in range(20))))
    # SQLite: one thread owns the only connection; PostgreSQL: a pool of store.pool_size (default 4).
    assert len(idents) == 1 if engine == "sqlite" else 1 <= len(idents) <= 4
    assert threading.get_ident() not in idents


async def test_engine_errors_become_store_errors_and_the_database_keeps_working(store: Store) -> None:
    with pytest.raises(StoreError, match="nowhere"):
        await store.db.run(lambda conn: conn.execute("SELECT * FROM nowhere"))
    assert await store.db.run(lambda conn: conn.execute("SELECT 41 + 1").fetchone()[0]) == 42


async def test_a_failing_transaction_writes_nothing(store: Store) -> None:
    class Boom(Exception):
        pass

    def write_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO cursors VALUES ('matrix', 'c1', 0)")
        raise Boom

    with pytest.raises(Boom):
        await store.db.transaction(write_then_fail)
    assert await store.cursors.get("matrix") is None
    assert not await store.db.run(lambda conn: conn.in_transaction)


async def test_calls_queued_together_each_get_their_own_outcome(store: Store) -> None:
    gate = threading.Event()

    def hold(conn: sqlite3.Connection) -> str:
        gate.wait(5)
        return "held"

    def answer(n: int):
        def call(conn: sqlite3.Connection) -> int:
            if n % 3 == 0:
                conn.execute("SELECT * FROM nowhere")
            return conn.execute("SELECT ? * 2", (n,)).fetchone()[0]

        return call

    # The thread is kept busy so that the next sixty calls pile up and finish as one batch.
    first = asyncio.ensure_future(store.db.run(hold))
    await asyncio.sleep(0.01)
    calls = [asyncio.ensure_future(store.db.run(answer(n))) for n in range(60)]
    gate.set()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert await first == "held"
    for n, outcome in enumerate(outcomes):
        if n % 3 == 0:
            assert isinstance(outcome, StoreError) and "nowhere" in str(outcome)
        else:
            assert outcome == n * 2


async def hold_thread(db: Database) -> tuple[asyncio.Future[object], threading.Event]:
    """Keep the database thread busy, so that the calls queued next are taken as one batch."""
    gate = threading.Event()
    busy = asyncio.ensure_future(db.run(lambda conn: gate.wait(5)))
    await asyncio.sleep(0.01)
    return busy, gate


async def cursor_names(store: Store) -> set[str]:
    rows = await store.db.run(lambda conn: conn.execute("SELECT platform FROM cursors").fetchall())
    return {row[0] for row in rows}


async def test_transactions_queued_together_commit_or_fail_each_on_its_own(store: Store) -> None:
    class Boom(Exception):
        pass

    def write(n: int):
        def call(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO cursors VALUES (?, 'c', 0)", (f"p{n}",))
            if n % 4 == 0:
                raise Boom(n)
            if n % 5 == 0:
                conn.execute("SELECT * FROM nowhere")
            return n

        return call

    busy, gate = await hold_thread(store.db)
    calls = [asyncio.ensure_future(store.db.transaction(write(n))) for n in range(1, 31)]
    gate.set()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert await busy is True
    for n, outcome in enumerate(outcomes, 1):
        if n % 4 == 0:
            assert isinstance(outcome, Boom) and outcome.args == (n,)
        elif n % 5 == 0:
            assert isinstance(outcome, StoreError) and "nowhere" in str(outcome)
        else:
            assert outcome == n
    assert await cursor_names(store) == {f"p{n}" for n in range(1, 31) if n % 4 and n % 5}
    assert not await store.db.run(lambda conn: conn.in_transaction)


async def test_a_read_queued_behind_writes_sees_them(store: Store) -> None:
    busy, gate = await hold_thread(store.db)
    writes = [
        asyncio.ensure_future(
            store.db.transaction(
                lambda conn, n=n: conn.execute("INSERT INTO cursors VALUES (?, 'c', 0)", (f"p{n}",))
            )
        )
        for n in range(3)
    ]
    read = asyncio.ensure_future(cursor_names(store))
    gate.set()
    await asyncio.gather(busy, *writes)
    assert await read == {"p0", "p1", "p2"}


async def test_a_failed_group_commit_fails_every_transaction_in_it_and_stores_none(db_path: Path) -> None:
    """SQLite only: there the transactions that queued up share one commit (PostgreSQL commits each on its
    own). A deferred foreign key makes the commit itself fail, after every statement succeeded."""
    store = await Store.open(db_path)
    try:
        await store.db.run(
            lambda conn: conn.execute(
                "CREATE TABLE child (parent TEXT REFERENCES cursors (platform) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
        busy, gate = await hold_thread(store.db)
        good = asyncio.ensure_future(
            store.db.transaction(lambda conn: conn.execute("INSERT INTO cursors VALUES ('kept?', 'c', 0)"))
        )
        orphan = asyncio.ensure_future(
            store.db.transaction(lambda conn: conn.execute("INSERT INTO child VALUES ('nobody')"))
        )
        gate.set()
        await busy
        for call in (good, orphan):
            with pytest.raises(StoreError, match="FOREIGN KEY"):
                await call
        assert await cursor_names(store) == set()
        await store.cursors.set("matrix", "after")
        assert await cursor_names(store) == {"matrix"}
    finally:
        await store.close()


async def test_a_call_cancelled_before_it_starts_never_runs(store: Store) -> None:
    gate = threading.Event()
    ran: list[str] = []
    busy = asyncio.ensure_future(store.db.run(lambda conn: gate.wait(5)))
    await asyncio.sleep(0.01)
    waiting = asyncio.ensure_future(store.db.run(lambda conn: ran.append("ran")))
    await asyncio.sleep(0)
    waiting.cancel()
    gate.set()
    assert await busy is True
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await store.db.run(lambda conn: list(ran)) == []


async def test_a_closed_database_refuses_work(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.close()
    await db.close()
    with pytest.raises(StoreError, match="closed"):
        await db.run(lambda conn: None)


def database_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hermes-state-db")]


async def test_a_cancelled_open_leaves_nothing_open(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    connecting = threading.Event()
    opened: list[sqlite3.Connection] = []
    connect = database_module.connect

    def slow_connect(*args: object) -> sqlite3.Connection:
        conn = connect(*args)  # type: ignore[arg-type]
        opened.append(conn)
        connecting.set()
        # The caller is cancelled while the thread is still busy opening.
        threading.Event().wait(0.2)
        return conn

    monkeypatch.setattr(database_module, "connect", slow_connect)
    before = set(database_threads())
    opening = asyncio.create_task(Store.open(db_path))
    assert await asyncio.to_thread(connecting.wait, 5)
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening

    for thread in set(database_threads()) - before:
        await asyncio.to_thread(thread.join, 5)
        assert not thread.is_alive()
    assert len(opened) == 1
    # The last connection to close removes the WAL files: the one opened after the cancel would keep them.
    assert snapshot(db_path)[2] == ["state.db"]
    store = await Store.open(db_path)
    await store.close()
