from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hermes.store import NotFoundError, Store, StoreError
from hermes.store.connection import Connection
from tests.unit.store.conftest import FakeClock

PAYLOAD = {"sender": "@alice:example.org", "text": "héllo 👋", "attachments": [{"name": "a.png"}]}


async def test_accept_records_the_event_and_the_cursor(store: Store, clock: FakeClock) -> None:
    assert await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor="batch-1") is True

    event = await store.inbox.get("matrix", "$e1")
    assert event is not None
    assert (event.platform, event.event_id, event.payload) == ("matrix", "$e1", PAYLOAD)
    assert (event.status, event.accepted_at, event.finished_at) == ("pending", clock.now, None)
    assert await store.cursors.get("matrix") == "batch-1"


async def test_a_duplicate_is_refused_and_does_not_move_the_cursor(store: Store) -> None:
    assert await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor="batch-1")
    assert await store.inbox.accept("matrix", "$e1", {"text": "changed"}, cursor="batch-2") is False

    assert await store.cursors.get("matrix") == "batch-1"
    event = await store.inbox.get("matrix", "$e1")
    assert event is not None and event.payload == PAYLOAD


async def test_the_same_event_id_on_two_platforms_is_two_events(store: Store) -> None:
    assert await store.inbox.accept("matrix", "e1", PAYLOAD, cursor=None)
    assert await store.inbox.accept("mattermost", "e1", PAYLOAD, cursor=None)
    assert await store.inbox.backlog_count() == 2


async def test_accept_without_cursor_leaves_the_cursor_alone(store: Store) -> None:
    await store.inbox.save_cursor("matrix", "batch-0")
    assert await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor=None)
    assert await store.cursors.get("matrix") == "batch-0"


@pytest.mark.parametrize("existing_cursor", [None, "batch-0"])
async def test_a_failing_cursor_write_undoes_the_accept(
    store: Store, engine: str, existing_cursor: str | None
) -> None:
    if existing_cursor is not None:
        await store.inbox.save_cursor("matrix", existing_cursor)

    def break_cursor_writes(conn: Connection) -> None:
        if engine == "postgresql":
            conn.execute(
                "CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS "
                "'BEGIN RAISE EXCEPTION ''disk on fire''; END'"
            )
            conn.execute("CREATE TRIGGER fail BEFORE INSERT OR UPDATE ON cursors EXECUTE FUNCTION fail()")
            return
        for action in ("INSERT", "UPDATE"):
            conn.execute(
                f"CREATE TEMP TRIGGER fail_{action} BEFORE {action} ON main.cursors "
                "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            )

    await store.db.run(break_cursor_writes)

    with pytest.raises(StoreError, match="disk on fire"):
        await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor="batch-1")

    assert await store.inbox.get("matrix", "$e1") is None
    assert await store.cursors.get("matrix") == existing_cursor
    assert await store.inbox.pending() == []


async def test_an_exception_between_the_two_writes_undoes_both(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object) -> None:
        raise RuntimeError("crashed between insert and cursor")

    monkeypatch.setattr("hermes.store.inbox.upsert_cursor", crash)

    with pytest.raises(RuntimeError, match="crashed"):
        await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor="batch-1")

    assert await store.inbox.get("matrix", "$e1") is None
    assert await store.cursors.get("matrix") is None
    monkeypatch.undo()
    assert await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor="batch-1") is True


@pytest.mark.parametrize(
    ("payload", "cursor", "message"),
    [
        ({"when": object()}, None, "JSON-serialisable"),
        ({"n": float("nan")}, None, "JSON-serialisable"),
        (["not", "a", "dict"], None, "must be a dict"),
        (PAYLOAD, 12345, "must be a string"),
    ],
)
async def test_bad_input_is_refused_before_anything_is_written(
    store: Store, payload: object, cursor: object, message: str
) -> None:
    await store.inbox.save_cursor("matrix", "batch-0")
    with pytest.raises(ValueError, match=message):
        await store.inbox.accept("matrix", "$e1", payload, cursor=cursor)  # type: ignore[arg-type]
    assert await store.inbox.get("matrix", "$e1") is None
    assert await store.cursors.get("matrix") == "batch-0"


async def test_pending_survives_a_restart_in_accept_order(db_path: Path, clock: FakeClock) -> None:
    store = await Store.open(db_path, clock=clock)
    for event_id in ("$c", "$a", "$d", "$b"):
        assert await store.inbox.accept("matrix", event_id, {"id": event_id}, cursor=f"after-{event_id}")
    await store.inbox.mark_done("matrix", "$a", ["$reply"])
    await store.inbox.mark_skipped("matrix", "$d", "too old")
    await store.close()

    store = await Store.open(db_path, clock=clock)
    try:
        pending = await store.inbox.pending()
        assert [(e.event_id, e.payload) for e in pending] == [("$c", {"id": "$c"}), ("$b", {"id": "$b"})]
        assert await store.inbox.backlog_count() == 2
        assert await store.cursors.get("matrix") == "after-$b"
    finally:
        await store.close()


async def test_pending_can_be_read_per_platform(store: Store) -> None:
    await store.inbox.accept("matrix", "m1", PAYLOAD, cursor=None)
    await store.inbox.accept("mattermost", "p1", PAYLOAD, cursor=None)
    assert [e.event_id for e in await store.inbox.pending("mattermost")] == ["p1"]
    assert await store.inbox.backlog_count("matrix") == 1


async def test_done_and_skipped_are_recorded(store: Store, clock: FakeClock) -> None:
    await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor=None)
    await store.inbox.accept("matrix", "$e2", PAYLOAD, cursor=None)
    clock.advance(5)
    await store.inbox.mark_done("matrix", "$e1", ["$r1", "$r2"])
    await store.inbox.mark_skipped("matrix", "$e2", "older than 5 minutes")

    done = await store.inbox.get("matrix", "$e1")
    skipped = await store.inbox.get("matrix", "$e2")
    assert done is not None and skipped is not None
    assert (done.status, done.reply_ids, done.finished_at) == ("done", ("$r1", "$r2"), clock.now)
    assert (skipped.status, skipped.skip_reason, skipped.reply_ids) == ("skipped", "older than 5 minutes", ())
    assert await store.inbox.pending() == []


async def test_finishing_an_unknown_event_is_an_error(store: Store) -> None:
    with pytest.raises(NotFoundError, match=r"\$nope"):
        await store.inbox.mark_done("matrix", "$nope", [])
    with pytest.raises(NotFoundError):
        await store.inbox.mark_skipped("matrix", "$nope", "why not")


@pytest.mark.parametrize("reply_ids", ["$r1", [1, 2]])
async def test_reply_ids_must_be_strings(store: Store, reply_ids: object) -> None:
    await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor=None)
    with pytest.raises(ValueError, match="reply_ids"):
        await store.inbox.mark_done("matrix", "$e1", reply_ids)  # type: ignore[arg-type]
    event = await store.inbox.get("matrix", "$e1")
    assert event is not None and event.status == "pending"


async def test_sent_chunks_survive_a_restart(db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor=None)
    await store.inbox.accept("matrix", "$e2", PAYLOAD, cursor=None)
    await store.inbox.record_sent("matrix", "$e1", 1, "$m1")
    await store.inbox.record_sent("matrix", "$e1", 0, "$m0")
    await store.inbox.record_sent("matrix", "$e2", 0, "$other")
    await store.close()

    store = await Store.open(db_path)
    try:
        assert await store.inbox.sent_chunks("matrix", "$e1") == {0: "$m0", 1: "$m1"}
        assert await store.inbox.sent_chunks("matrix", "$e2") == {0: "$other"}
        assert await store.inbox.sent_chunks("matrix", "$never") == {}
        await store.inbox.record_sent("matrix", "$e1", 1, "$m1-again")
        assert await store.inbox.sent_chunks("matrix", "$e1") == {0: "$m0", 1: "$m1-again"}
    finally:
        await store.close()


async def test_sent_chunks_need_a_known_event_and_a_valid_chunk(store: Store) -> None:
    with pytest.raises(NotFoundError):
        await store.inbox.record_sent("matrix", "$nope", 0, "$m0")
    await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor=None)
    for chunk in (-1, "0", True):
        with pytest.raises(ValueError, match="chunk"):
            await store.inbox.record_sent("matrix", "$e1", chunk, "$m0")  # type: ignore[arg-type]
    assert await store.inbox.sent_chunks("matrix", "$e1") == {}


async def test_prune_forgets_old_finished_events_only(store: Store, clock: FakeClock) -> None:
    for event_id in ("$old-done", "$old-pending", "$old-skipped", "$new-done"):
        await store.inbox.accept("matrix", event_id, PAYLOAD, cursor=None)
    await store.inbox.record_sent("matrix", "$old-done", 0, "$m0")
    await store.inbox.mark_done("matrix", "$old-done", ["$m0"])
    await store.inbox.mark_skipped("matrix", "$old-skipped", "too old")
    clock.advance(3600)
    await store.inbox.mark_done("matrix", "$new-done", [])

    assert await store.inbox.prune(older_than=clock.now - 60) == 2

    assert await store.inbox.get("matrix", "$old-done") is None
    assert await store.inbox.get("matrix", "$old-skipped") is None
    assert await store.inbox.sent_chunks("matrix", "$old-done") == {}
    assert await store.inbox.get("matrix", "$new-done") is not None
    assert [e.event_id for e in await store.inbox.pending()] == ["$old-pending"]


async def test_concurrent_accepts_land_exactly_once(store: Store) -> None:
    ids = [f"$e{i}" for i in range(200)]
    calls = [store.inbox.accept("matrix", event_id, {"id": event_id}, cursor=event_id) for event_id in ids]
    duplicates = [store.inbox.accept("matrix", event_id, {"id": "dup"}, cursor="dup") for event_id in ids]
    interleaved = [call for pair in zip(calls, duplicates, strict=True) for call in pair]

    results = await asyncio.gather(*interleaved)

    # Each event is accepted exactly once, by whichever call got there first: on SQLite the one queued
    # first, on PostgreSQL (a pool of connections) either; the stored payload is the winner's.
    assert sum(results) == 200
    winners = {
        event_id: {"id": event_id} if first else {"id": "dup"}
        for event_id, first, second in zip(ids, results[::2], results[1::2], strict=True)
        if first != second
    }
    assert len(winners) == 200
    pending = await store.inbox.pending()
    assert sorted(e.event_id for e in pending) == sorted(ids)
    assert all(e.payload == winners[e.event_id] for e in pending)
    assert await store.cursors.get("matrix") in [*ids, "dup"]
