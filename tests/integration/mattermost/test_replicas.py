"""Two `hermes gateway run` replicas on one PostgreSQL database: one holds Mattermost, the other stands
by, and takes over when the holder is killed, answering every message exactly once."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator

from tests.fakes.llm import Text
from tests.harness.gateway import GatewayProcess, start_gateway_process, wait_for_log
from tests.harness.postgres_server import PostgresServer
from tests.harness.replicas import inbox_settled, replication_status

from .conftest import MattermostBot


@contextlib.asynccontextmanager
async def two_replicas(
    bot: MattermostBot, postgres: PostgresServer, lease_seconds: float
) -> AsyncIterator[tuple[str, GatewayProcess, GatewayProcess]]:
    """Two homes configured alike (two hosts) sharing one new database: the first replica holds
    Mattermost, the second has started and stands by. Both are killed, and the database dropped, after."""
    url = postgres.create_database()
    bot.configure(config={"store": {"lease_seconds": lease_seconds}}, env={"HERMES_DATABASE_URL": url})
    standby_home = bot.home.with_name("standby-home")
    shutil.copytree(bot.home, standby_home)
    holder = start_gateway_process(bot.home)
    standby = None
    try:
        await wait_for_log(holder, "mattermost: connected")
        standby = start_gateway_process(standby_home)
        await wait_for_log(standby, "platforms are shared through leases")
        yield url, holder, standby
    finally:
        for process in (holder, standby):
            if process is not None and process.proc.poll() is None:
                process.kill()
        postgres.drop_database(url)


async def test_the_standby_takes_over_a_killed_holder_and_answers_the_gap_once(
    bot: MattermostBot, postgres: PostgresServer
) -> None:
    dm = bot.dm_with(bot.alice)
    async with two_replicas(bot, postgres, lease_seconds=2) as (url, holder, standby):
        await bot.mm.post_as(bot.alice, dm, "hello")
        await bot.reply(dm, lambda p: p.message == "hello", timeout=15)
        await inbox_settled(url)
        assert "mattermost: connected" not in standby.log()

        holder.kill()
        await bot.mm.post_as(bot.alice, dm, "sent while nobody held mattermost")
        await wait_for_log(standby, "mattermost: connected", timeout=15)
        await bot.reply(dm, lambda p: p.message == "sent while nobody held mattermost", timeout=15)
        await inbox_settled(url)
        await bot.mm.post_as(bot.alice, dm, "and after")
        await bot.reply(dm, lambda p: p.message == "and after", timeout=15)
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
    dm = bot.dm_with(bot.alice)
    async with two_replicas(bot, postgres, lease_seconds=60) as (_, holder, standby):
        report = replication_status(standby.home)
        holder_id = next(r["id"] for r in report["replicas"] if r["pid"] == holder.proc.pid)
        assert {r["pid"] for r in report["replicas"]} == {holder.proc.pid, standby.proc.pid}
        held = {lease["name"]: lease["holder"] for lease in report["leases"]}
        assert held["platform:mattermost"] == holder_id and held["scheduler"] == holder_id
        assert holder.terminate() == 0
        # Released on the way out: no waiting for a 60 s lease to expire.
        await wait_for_log(standby, "mattermost: connected", timeout=10)
        await bot.mm.post_as(bot.alice, dm, "still there?")
        await bot.reply(dm, lambda p: p.message == "still there?", timeout=15)


async def test_a_reply_cut_by_killing_the_holder_is_finished_once_by_the_standby(
    bot: MattermostBot, postgres: PostgresServer
) -> None:
    story = " ".join(f"word{i}" for i in range(60))
    bot.llm.instant = False
    bot.llm.script(Text(story, chunk_delay=0.05), Text("the whole story, told by the standby"))
    dm = bot.dm_with(bot.alice)
    async with two_replicas(bot, postgres, lease_seconds=2) as (url, holder, standby):
        await bot.mm.post_as(bot.alice, dm, "tell me a story")
        streamed = await bot.reply(dm, lambda p: p.edit_at > 0, timeout=15)
        holder.kill()
        await bot.mm.post_as(bot.alice, dm, "and one more thing")
        await wait_for_log(standby, "mattermost: connected", timeout=15)
        await bot.reply(dm, lambda p: p.message == "the whole story, told by the standby", timeout=15)
        await bot.reply(dm, lambda p: p.message == "and one more thing", timeout=15)
        await inbox_settled(url)
    # The cut reply is finished in place, and the message sent during the gap answered after it: each
    # once, with no interrupt notice.
    replies = bot.replies_in(dm)
    assert replies[0].id == streamed.id
    assert [p.message for p in replies] == ["the whole story, told by the standby", "and one more thing"]
