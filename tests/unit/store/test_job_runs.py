from __future__ import annotations

import asyncio

import pytest

from hermes.store import LeaseFence, LeaseLostError, NotFoundError, Store
from hermes.store.jobs import Job

SLOT = 1_700_000_000.0


async def make(store: Store) -> Job:
    return await store.jobs.create(
        name="digest",
        schedule_kind="interval",
        schedule_value="3600",
        prompt="sum up the day",
        target={"platform": "matrix", "chat_id": "!room"},
        next_run_at=SLOT,
    )


async def test_a_claimed_run_is_found_again_as_it_was_left(store: Store) -> None:
    job = await make(store)
    run = await store.job_runs.claim(job.id, SLOT)
    assert (run.answered, run.message, run.sent) == (False, None, ())
    answered = await store.job_runs.answer(job.id, SLOT, "ok", "first answer", None)
    await store.job_runs.record_sent(job.id, SLOT, 0, "post-0")

    again = await store.job_runs.claim(job.id, SLOT)
    assert again.claimed_at == run.claimed_at
    assert (again.status, again.message, again.sent) == ("ok", "first answer", ("post-0",))
    assert answered.message == "first answer"
    # A second answer (a replica that asked the model again) does not replace the first.
    kept = await store.job_runs.answer(job.id, SLOT, "ok", "second answer", None)
    assert kept.message == "first answer"


async def test_chunks_are_recorded_in_order(store: Store) -> None:
    job = await make(store)
    await store.job_runs.claim(job.id, SLOT)
    await store.job_runs.answer(job.id, SLOT, "ok", "text", None)
    with pytest.raises(ValueError, match="chunk 1 recorded before chunk 0"):
        await store.job_runs.record_sent(job.id, SLOT, 1, "post-1")
    with pytest.raises(ValueError, match="non-negative"):
        await store.job_runs.record_sent(job.id, SLOT, -1, "post")
    await store.job_runs.record_sent(job.id, SLOT, 0, "post-0")
    await store.job_runs.record_sent(job.id, SLOT, 0, "post-0")  # sent again after a crash: same place
    await store.job_runs.record_sent(job.id, SLOT, 1, "post-1")
    run = await store.job_runs.get(job.id, SLOT)
    assert run is not None and run.sent == ("post-0", "post-1")


async def test_a_run_of_a_missing_job_or_slot_is_refused(store: Store) -> None:
    job = await make(store)
    with pytest.raises(NotFoundError, match="no job 'nope'"):
        await store.job_runs.claim("nope", SLOT)
    with pytest.raises(NotFoundError, match="has no run"):
        await store.job_runs.answer(job.id, SLOT, "ok", "text", None)
    with pytest.raises(NotFoundError, match="has no run"):
        await store.job_runs.record_sent(job.id, SLOT, 0, "post-0")


async def test_recording_the_outcome_or_deleting_the_job_ends_the_run(store: Store) -> None:
    job = await make(store)
    await store.job_runs.claim(job.id, SLOT)
    await store.jobs.record_run(job.id, "ok", None, SLOT + 3600)
    assert await store.job_runs.get(job.id, SLOT) is None

    await store.job_runs.claim(job.id, SLOT + 3600)
    assert await store.jobs.delete(job.id)
    assert await store.job_runs.get(job.id, SLOT + 3600) is None


async def test_fenced_writes_need_the_scheduler_lease(store: Store) -> None:
    job = await make(store)
    token = await store.leases.acquire("scheduler", "a", ttl=0.3)
    assert token is not None
    old = LeaseFence("scheduler", "a", token)
    await store.job_runs.claim(job.id, SLOT, fence=old)
    await asyncio.sleep(0.4)
    new = LeaseFence("scheduler", "b", await store.leases.acquire("scheduler", "b", ttl=30) or 0)

    for write in (
        store.job_runs.claim(job.id, SLOT, fence=old),
        store.job_runs.answer(job.id, SLOT, "ok", "stale", None, fence=old),
        store.job_runs.record_sent(job.id, SLOT, 0, "stale", fence=old),
        store.jobs.record_run(job.id, "error", "stale", None, fence=old),
        store.jobs.delete(job.id, fence=old),
    ):
        with pytest.raises(LeaseLostError, match="no longer held by a"):
            await write
    run = await store.job_runs.answer(job.id, SLOT, "ok", "fresh", None, fence=new)
    assert run.message == "fresh"
    assert (await store.jobs.record_run(job.id, "ok", None, SLOT + 3600, fence=new)).last_status == "ok"
