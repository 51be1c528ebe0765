import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hermes.agent.tools.base import ToolArgumentError, ToolContext
from hermes.agent.tools.cronjob import CronJobTool
from hermes.store import Store
from tests.unit.tools.conftest import make_context

cron = CronJobTool()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


@pytest.fixture
def ctx(tmp_path: Path, store: Store) -> ToolContext:
    return make_context(tmp_path / "home", store=store)


async def test_create_list_update_pause_resume_remove(ctx: ToolContext, store: Store) -> None:
    before = time.time()
    created = await cron(
        {"action": "create", "name": "water", "schedule": "every 2h", "prompt": "Remind me to drink water."},
        ctx,
    )
    assert created.ok and created.content.startswith("Scheduled: ")
    [job] = await store.jobs.all()
    assert (job.name, job.schedule_kind, job.schedule_value, job.prompt) == (
        "water",
        "interval",
        "7200",
        "Remind me to drink water.",
    )
    assert job.target == {
        "owner": "test:dm:@alice",
        "platform": "test",
        "chat_id": "chat-1",
        "kind": "dm",
        "thread_id": None,
    }
    assert job.next_run_at is not None and before + 7200 <= job.next_run_at <= time.time() + 7200
    listed = await cron({"action": "list"}, ctx)
    assert (
        listed.content.splitlines()[0] == "1 job(s):"
        and f"{job.id} 'water': every 2h -> test:chat-1" in listed.content
    )

    updated = await cron(
        {"action": "update", "job_id": job.id, "schedule": "0 9 * * *", "name": "morning"}, ctx
    )
    assert "'morning': cron 0 9 * * *" in updated.content
    paused = await cron({"action": "pause", "job_id": job.id}, ctx)
    assert paused.content.endswith("(paused)")
    assert (await store.jobs.get(job.id)).enabled is False  # type: ignore[union-attr]
    resumed = await cron({"action": "resume", "job_id": job.id}, ctx)
    assert "next " in resumed.content and (await store.jobs.get(job.id)).enabled  # type: ignore[union-attr]
    removed = await cron({"action": "remove", "job_id": job.id}, ctx)
    assert removed.content == f"Removed job {job.id} ('morning')."
    assert await store.jobs.all() == []


async def test_home_delivery_and_default_name(ctx: ToolContext, store: Store) -> None:
    await cron(
        {"action": "create", "schedule": "30m", "prompt": "Say   good\nmorning", "deliver": "home"}, ctx
    )
    await cron({"action": "create", "schedule": "1h", "prompt": "x", "deliver": "home:matrix"}, ctx)
    first, second = await store.jobs.all()
    assert first.target == {"owner": "test:dm:@alice", "home": "test"} and first.name == "Say good morning"
    assert first.schedule_kind == "once"
    assert second.target == {"owner": "test:dm:@alice", "home": "matrix"}


async def test_jobs_of_other_conversations_are_invisible(
    tmp_path: Path, ctx: ToolContext, store: Store
) -> None:
    await cron({"action": "create", "schedule": "every 1h", "prompt": "mine"}, ctx)
    [job] = await store.jobs.all()
    other = make_context(tmp_path / "home", store=store, session_key="test:dm:@mallory")
    assert (
        await cron({"action": "list"}, other)
    ).content == "No scheduled jobs were created in this conversation."
    for action in ("remove", "pause", "resume", "update"):
        with pytest.raises(ToolArgumentError, match="there is no job"):
            await cron({"action": action, "job_id": job.id, "prompt": "hijacked"}, other)
    assert (await store.jobs.get(job.id)) == job


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required argument 'action'"),
        ({"action": "explode"}, "must be one of"),
        ({"action": "create", "schedule": "every 1h"}, "missing required argument 'prompt'"),
        ({"action": "create", "schedule": "every 1h", "prompt": "   "}, "blank"),
        ({"action": "create", "schedule": "every 1h", "prompt": "x" * 8001}, "at most 8000"),
        ({"action": "create", "prompt": "x"}, "missing required argument 'schedule'"),
        ({"action": "create", "schedule": "whenever", "prompt": "x"}, "not a schedule I understand"),
        (
            {"action": "create", "schedule": "every 1h", "prompt": "x", "deliver": "matrix:!room"},
            "deliver must",
        ),
        ({"action": "create", "schedule": "every 1h", "prompt": "x", "name": "n" * 81}, "at most 80"),
        ({"action": "remove"}, "missing required argument 'job_id'"),
        ({"action": "pause", "job_id": "nope"}, "there is no job 'nope'"),
    ],
)
async def test_bad_arguments_store_nothing(ctx: ToolContext, store: Store, args: dict, message: str) -> None:
    await cron({"action": "create", "schedule": "every 1h", "prompt": "keep me"}, ctx)
    kept = await store.jobs.all()
    with pytest.raises(ToolArgumentError, match=message):
        await cron(args, ctx)
    assert await store.jobs.all() == kept


async def test_update_needs_a_change(ctx: ToolContext, store: Store) -> None:
    await cron({"action": "create", "schedule": "every 1h", "prompt": "x"}, ctx)
    [job] = await store.jobs.all()
    with pytest.raises(ToolArgumentError, match="at least one of"):
        await cron({"action": "update", "job_id": job.id}, ctx)


async def test_origin_delivery_needs_a_chat(tmp_path: Path, store: Store) -> None:
    api = make_context(tmp_path / "home", store=store, platform="api_server", origin=None)
    with pytest.raises(ToolArgumentError, match="no chat to post"):
        await cron({"action": "create", "schedule": "every 1h", "prompt": "x"}, api)
    await cron({"action": "create", "schedule": "every 1h", "prompt": "x", "deliver": "home:matrix"}, api)
    assert len(await store.jobs.all()) == 1


async def test_without_a_store_it_says_so(tmp_path: Path) -> None:
    result = await cron({"action": "list"}, make_context(tmp_path / "home"))
    assert not result.ok and "state store" in result.content
