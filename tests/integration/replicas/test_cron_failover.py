"""A cron job due while the replica holding the scheduler dies fires once, on the standby: whether the
holder died before the job was due, or in the middle of posting its answer."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator

import psycopg

from hermes.store import Store
from tests.fakes.llm import Text
from tests.fakes.mattermost import Post
from tests.harness.gateway import GatewayProcess, start_gateway_process, wait_for_log
from tests.harness.postgres_server import PostgresServer
from tests.integration.mattermost.conftest import MattermostBot

PROMPT = "Remind the team of the stand-up."
# From creating the job until it is due: time for both replicas to start first.
DUE_IN = 12.0


@contextlib.asynccontextmanager
async def replicas_with_a_job(
    bot: MattermostBot, postgres: PostgresServer, *, config: dict[str, object] | None = None
) -> AsyncIterator[tuple[str, str, float, GatewayProcess, GatewayProcess]]:
    """A one-off job posting to the town square, due DUE_IN seconds after it is made, on a new database;
    then two replicas: the first holds Mattermost and the scheduler, the second stands by. Yields the
    database's URL, the job's id, when it is due, the holder and the standby."""
    url = postgres.create_database()
    store = await Store.open(url)
    due = time.time() + DUE_IN
    try:
        job = await store.jobs.create(
            name="standup",
            schedule_kind="once",
            schedule_value="2026-01-01T09:00:00+00:00",
            prompt=PROMPT,
            target={"platform": "mattermost", "chat_id": bot.town.id, "kind": "channel"},
            next_run_at=due,
        )
    finally:
        await store.close()
    bot.configure(config={"store": {"lease_seconds": 2}, **(config or {})}, env={"HERMES_DATABASE_URL": url})
    standby_home = bot.home.with_name("standby-home")
    shutil.copytree(bot.home, standby_home)
    processes: list[GatewayProcess] = []
    try:
        processes.append(start_gateway_process(bot.home))
        await wait_for_log(processes[0], "mattermost: connected")
        processes.append(start_gateway_process(standby_home))
        await wait_for_log(processes[1], "platforms are shared through leases")
        assert time.time() < due - 1, "the replicas took too long to start for this test"
        yield url, job.id, due, processes[0], processes[1]
    finally:
        for process in processes:
            if process.proc.poll() is None:
                process.kill()
        postgres.drop_database(url)


async def job_gone(url: str, job_id: str, timeout: float = 20.0) -> None:
    """Until the one-off job is removed, as it is once its run succeeded and was recorded."""
    async with asyncio.timeout(timeout):
        while True:
            async with await psycopg.AsyncConnection.connect(url) as conn:
                cursor = await conn.execute("SELECT count(*) FROM jobs WHERE id = %s", (job_id,))
                row = await cursor.fetchone()
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.1)


def job_posts(bot: MattermostBot) -> list[Post]:
    return [p for p in bot.replies_in(bot.town) if p.message.startswith("⏰ **standup**")]


def job_requests(bot: MattermostBot) -> int:
    return sum(1 for r in bot.llm.chat_requests if PROMPT in (r.last_user_text or ""))


async def test_a_job_due_just_after_its_scheduler_is_killed_fires_once_on_the_standby(
    bot: MattermostBot, postgres: PostgresServer
) -> None:
    bot.llm.script(Text("Stand-up in five minutes."))
    async with replicas_with_a_job(bot, postgres) as (url, job_id, due, holder, standby):
        await asyncio.sleep(max(0.0, due - 0.5 - time.time()))
        holder.kill()
        await bot.reply(bot.town, lambda p: p.message.startswith("⏰ **standup**"), timeout=20)
        await job_gone(url, job_id)
        assert "scheduler: lease taken" in standby.log()
    assert [p.message for p in job_posts(bot)] == ["⏰ **standup**\n\nStand-up in five minutes."]
    assert job_requests(bot) == 1


async def test_a_job_cut_off_while_posting_its_answer_is_finished_once_from_the_stored_answer(
    bot: MattermostBot, postgres: PostgresServer
) -> None:
    answer = " ".join(f"line{i}" for i in range(60))
    bot.llm.script(Text(answer), Text("a second answer, which nobody should see"))
    chunked = {"mattermost": {"max_message_chars": 200}}
    async with replicas_with_a_job(bot, postgres, config=chunked) as (url, job_id, _, holder, standby):
        # The holder's first chunk is stored by the server, then the holder dies before hearing back: it
        # never records the chunk as posted.
        bot.mm.api.crash_after = ("POST", "/api/v4/posts", holder.kill)
        await wait_for_log(standby, "finishing its run", timeout=30)
        await job_gone(url, job_id)
    posts = job_posts(bot)
    chunks = [p.message.rsplit("\n(", 1)[0] for p in bot.replies_in(bot.town)]
    assert len(posts) == 1 and len(chunks) > 2
    # Every chunk once, all of one answer: the standby posted what was left of the answer the holder got.
    assert " ".join(chunks).split() == ["⏰", "**standup**", *answer.split()]
    assert job_requests(bot) == 1
