"""Two `hermes gateway run` replicas on one PostgreSQL database: one holds Mattermost, the other stands
by, and takes over when the holder is killed, answering every message exactly once."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import psycopg

from tests.harness.gateway import GatewayProcess, start_gateway_process, wait_for_log
from tests.harness.postgres_server import PostgresServer

from .conftest import MattermostBot

LEASE = {"store": {"lease_seconds": 2}}


def replica_homes(bot: MattermostBot, url: str) -> tuple[Path, Path]:
    """Two homes configured alike (two hosts), sharing the database at `url`."""
    bot.configure(config=LEASE, env={"HERMES_DATABASE_URL": url})
    standby_home = bot.home.with_name("standby-home")
    shutil.copytree(bot.home, standby_home)
    return bot.home, standby_home


async def settled(url: str, timeout: float = 15.0) -> None:
    """Until the shared inbox holds nothing unanswered."""
    async with asyncio.timeout(timeout):
        while True:
            async with await psycopg.AsyncConnection.connect(url) as conn:
                cursor = await conn.execute("SELECT count(*) FROM inbox WHERE status = 'pending'")
                row = await cursor.fetchone()
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.1)


def stop(*processes: GatewayProcess | None) -> None:
    for process in processes:
        if process is not None and process.proc.poll() is None:
            process.kill()


async def test_the_standby_takes_over_a_killed_holder_and_answers_the_gap_once(
    bot: MattermostBot, postgres: PostgresServer
) -> None:
    url = postgres.create_database()
    first_home, second_home = replica_homes(bot, url)
    dm = bot.dm_with(bot.alice)
    holder = start_gateway_process(first_home)
    standby = None
    try:
        await wait_for_log(holder, "mattermost: connected")
        standby = start_gateway_process(second_home)
        await wait_for_log(standby, "platforms are shared through leases")
        await bot.mm.post_as(bot.alice, dm, "hello")
        await bot.reply(dm, lambda p: p.message == "hello", timeout=15)
        await settled(url)
        assert "mattermost: connected" not in standby.log()

        holder.kill()
        await bot.mm.post_as(bot.alice, dm, "sent while nobody held mattermost")
        await wait_for_log(standby, "mattermost: connected", timeout=15)
        await bot.reply(dm, lambda p: p.message == "sent while nobody held mattermost", timeout=15)
        await settled(url)
        await bot.mm.post_as(bot.alice, dm, "and after")
        await bot.reply(dm, lambda p: p.message == "and after", timeout=15)
    finally:
        stop(holder, standby)
        postgres.drop_database(url)
    assert [p.message for p in bot.replies_in(dm)] == [
        "hello",
        "sent while nobody held mattermost",
        "and after",
    ]
    assert sorted(r.last_user_text for r in bot.llm.chat_requests) == sorted(
        ["hello", "sent while nobody held mattermost", "and after"]
    )


async def test_a_replica_that_stops_cleanly_hands_over_at_once(
    bot: MattermostBot, postgres: PostgresServer
) -> None:
    url = postgres.create_database()
    first_home, second_home = replica_homes(bot, url)
    bot.configure(config={"store": {"lease_seconds": 60}}, env={"HERMES_DATABASE_URL": url})
    shutil.copy(first_home / "config.yaml", second_home / "config.yaml")
    dm = bot.dm_with(bot.alice)
    holder = start_gateway_process(first_home)
    standby = None
    try:
        await wait_for_log(holder, "mattermost: connected")
        standby = start_gateway_process(second_home)
        await wait_for_log(standby, "platforms are shared through leases")
        assert holder.terminate() == 0
        # Released on the way out: no waiting for a 60 s lease to expire.
        await wait_for_log(standby, "mattermost: connected", timeout=10)
        await bot.mm.post_as(bot.alice, dm, "still there?")
        await bot.reply(dm, lambda p: p.message == "still there?", timeout=15)
    finally:
        stop(holder, standby)
        postgres.drop_database(url)
