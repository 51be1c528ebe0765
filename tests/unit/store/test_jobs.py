from __future__ import annotations

from pathlib import Path

import pytest

from hermes.store import NotFoundError, Store, StoreError
from hermes.store.jobs import DEFAULT_GRACE_SECONDS, Job
from tests.unit.store.conftest import FakeClock


async def make(store: Store, name: str, next_run_at: float | None, **extra: object) -> Job:
    return await store.jobs.create(
        name=name,
        schedule_kind="cron",
        schedule_value="0 9 * * *",
        prompt=f"do {name}",
        target={"platform": "matrix", "chat_id": "!room"},
        next_run_at=next_run_at,
        **extra,  # type: ignore[arg-type]
    )


async def test_create_get_and_persist(db_path: Path, clock: FakeClock) -> None:
    store = await Store.open(db_path, clock=clock)
    job = await make(store, "digest", 500.0)
    assert (job.name, job.schedule_kind, job.schedule_value, job.prompt) == (
        "digest",
        "cron",
        "0 9 * * *",
        "do digest",
    )
    assert job.target == {"platform": "matrix", "chat_id": "!room"}
    assert (job.enabled, job.created_at, job.next_run_at) == (True, clock.now, 500.0)
    assert (job.last_run_at, job.last_status, job.last_error) == (None, None, None)
    assert job.grace_seconds == DEFAULT_GRACE_SECONDS
    assert 4 <= len(job.id) <= 16
    await store.close()

    store = await Store.open(db_path, clock=clock)
    try:
        assert await store.jobs.get(job.id) == job
        assert await store.jobs.all() == [job]
    finally:
        await store.close()


async def test_due_returns_enabled_jobs_earliest_first(store: Store) -> None:
    late = await make(store, "late", 30.0)
    early = await make(store, "early", 10.0)
    middle = await make(store, "middle", 20.0)
    await make(store, "future", 50.0)
    await make(store, "paused", 5.0, enabled=False)
    await make(store, "finished", None)

    assert [j.id for j in await store.jobs.due(now=30.0)] == [early.id, middle.id, late.id]
    assert await store.jobs.due(now=1.0) == []


async def test_record_run_moves_the_job_on(store: Store, clock: FakeClock) -> None:
    job = await make(store, "ping", 10.0)
    clock.advance(60)

    ran = await store.jobs.record_run(job.id, "error", "provider timed out", 100.0)
    assert (ran.last_run_at, ran.last_status, ran.last_error, ran.next_run_at) == (
        clock.now,
        "error",
        "provider timed out",
        100.0,
    )
    assert await store.jobs.due(now=50.0) == []

    once = await store.jobs.record_run(job.id, "ok", None, None)
    assert (once.last_status, once.last_error, once.next_run_at) == ("ok", None, None)
    assert await store.jobs.due(now=1e12) == []
    with pytest.raises(NotFoundError):
        await store.jobs.record_run("nope", "ok", None, None)


async def test_update_pause_resume_and_delete(store: Store) -> None:
    job = await make(store, "digest", 10.0)

    paused = await store.jobs.update(job.id, enabled=False)
    assert paused.enabled is False and await store.jobs.due(now=100.0) == []
    resumed = await store.jobs.update(
        job.id,
        enabled=True,
        next_run_at=50.0,
        target="home:matrix",
        schedule_kind="interval",
        schedule_value="3600",
    )
    assert (resumed.enabled, resumed.next_run_at, resumed.target) == (True, 50.0, "home:matrix")
    assert (resumed.schedule_kind, resumed.schedule_value, resumed.name) == ("interval", "3600", "digest")
    assert await store.jobs.update(job.id) == resumed

    assert await store.jobs.delete(job.id) is True
    assert await store.jobs.delete(job.id) is False
    assert await store.jobs.get(job.id) is None
    with pytest.raises(NotFoundError):
        await store.jobs.update(job.id, enabled=True)


async def test_a_chosen_id_must_be_free(store: Store) -> None:
    await make(store, "a", 1.0, job_id="daily")
    with pytest.raises(StoreError, match="daily"):
        await make(store, "b", 1.0, job_id="daily")
    assert [j.name for j in await store.jobs.all()] == ["a"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("schedule_kind", "weekly", "schedule kind"),
        ("grace_seconds", -1, "grace_seconds"),
        ("target", ["matrix"], "target"),
        ("target", {"when": object()}, "target"),
    ],
)
async def test_bad_job_fields_are_refused(store: Store, field: str, value: object, message: str) -> None:
    job = await make(store, "ok", 1.0)
    fields: dict[str, object] = {
        "name": "bad",
        "schedule_kind": "cron",
        "schedule_value": "* * * * *",
        "prompt": "p",
        "target": "home:matrix",
        "next_run_at": 1.0,
        field: value,
    }
    with pytest.raises(ValueError, match=message):
        await store.jobs.create(**fields)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        await store.jobs.update(job.id, **{field: value})  # type: ignore[arg-type]
    assert await store.jobs.all() == [job]
