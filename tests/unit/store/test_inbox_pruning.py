"""The inbox pruner: what it forgets, how long it keeps, and that it never holds the event loop."""

from __future__ import annotations

import asyncio

import pytest

from hermes.gateway import inbox_pruning
from hermes.gateway.inbox_pruning import InboxPruner
from hermes.store import Store

from .conftest import FakeClock

DAY = 86400.0


async def finished(store: Store, count: int, prefix: str = "$e") -> None:
    for i in range(count):
        await store.inbox.accept("matrix", f"{prefix}{i}", {"text": "hi"}, cursor=None)
        await store.inbox.mark_done("matrix", f"{prefix}{i}", [])


async def test_events_finished_before_the_retention_window_are_forgotten(
    store: Store, clock: FakeClock
) -> None:
    await finished(store, 3, "$old")
    await store.inbox.accept("matrix", "$waiting", {"text": "hi"}, cursor=None)
    clock.advance(8 * DAY)
    await finished(store, 2, "$new")
    pruner = InboxPruner(store.inbox, 7, max_message_age_seconds=DAY, clock=clock)
    assert await pruner.prune() == 3
    assert await store.inbox.get("matrix", "$new0") is not None
    assert [e.event_id for e in await store.inbox.pending()] == ["$waiting"]


async def test_retention_is_never_shorter_than_the_age_past_which_replays_are_ignored(
    store: Store, clock: FakeClock
) -> None:
    await finished(store, 1)
    clock.advance(2 * DAY)
    pruner = InboxPruner(store.inbox, 1, max_message_age_seconds=3 * DAY, clock=clock)
    assert pruner.retention_seconds == 3 * DAY
    assert await pruner.prune() == 0
    clock.advance(2 * DAY)
    assert await pruner.prune() == 1


async def test_zero_days_keeps_everything(store: Store, clock: FakeClock) -> None:
    await finished(store, 1)
    clock.advance(365 * DAY)
    pruner = InboxPruner(store.inbox, 0, max_message_age_seconds=DAY, clock=clock)
    pruner.start()
    await pruner.stop()
    assert await pruner.prune() == 0
    assert await store.inbox.get("matrix", "$e0") is not None


async def test_a_large_backlog_is_pruned_in_batches_that_let_other_work_run(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_pruning, "BATCH", 10)
    await finished(store, 35)
    clock.advance(8 * DAY)
    ticks = 0
    calls: list[int] = []
    real_prune = store.inbox.prune

    async def counting_prune(older_than: float, *, limit: int | None = None) -> int:
        calls.append(ticks)
        return await real_prune(older_than, limit=limit)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    monkeypatch.setattr(store.inbox, "prune", counting_prune)
    running = asyncio.create_task(ticker())
    try:
        assert await InboxPruner(store.inbox, 7, DAY, clock=clock).prune() == 35
    finally:
        running.cancel()
    assert len(calls) == 4
    # The loop went round between batches: the other task ran each time.
    assert calls == sorted(set(calls))


async def test_pruning_runs_at_start_and_again_every_period(store: Store, clock: FakeClock) -> None:
    await finished(store, 2)
    clock.advance(8 * DAY)
    pruner = InboxPruner(store.inbox, 7, DAY, every=0.05, clock=clock)
    pruner.start()
    try:
        async with asyncio.timeout(5):
            while await store.inbox.get("matrix", "$e1") is not None:
                await asyncio.sleep(0.01)
            await finished(store, 1, "$later")
            clock.advance(8 * DAY)
            while await store.inbox.get("matrix", "$later0") is not None:
                await asyncio.sleep(0.01)
    finally:
        await pruner.stop()
