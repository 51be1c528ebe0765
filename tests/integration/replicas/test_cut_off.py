"""The replica holding Mattermost loses the database (its connections are terminated, and it may not
connect again): it stops sending before its lease expires in the database, so before the standby may take
over; the standby answers everything once; when the database comes back, the old holder stands by.

The two replicas log in as roles of their own and use tokens of their own for the same bot account, so the
database can cut one off and the emulator can tell their requests apart."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass

import psycopg

from tests.fakes.llm import Text
from tests.fakes.mattermost import MattermostEmulator
from tests.harness.gateway import GatewayProcess, start_gateway_process, wait_for_log, write_home
from tests.harness.postgres_server import PostgresServer
from tests.harness.replicas import inbox_settled, replication_status
from tests.integration.mattermost.conftest import MattermostBot

LEASE_SECONDS = 3.0


@dataclass
class Replica:
    process: GatewayProcess
    url: str
    token: str


@contextlib.asynccontextmanager
async def two_hosts(
    bot: MattermostBot, postgres: PostgresServer
) -> AsyncIterator[tuple[str, Replica, Replica]]:
    """The holder (started first, so it holds Mattermost) and a standby, each with its own database role
    and its own token for the bot; the admin URL of their database."""
    admin = postgres.create_database()
    holder_url, standby_url = postgres.login_roles(admin, "holder", "standby")
    bot.configure(config={"store": {"lease_seconds": LEASE_SECONDS}}, env={"HERMES_DATABASE_URL": holder_url})
    standby_home = bot.home.with_name("standby-home")
    shutil.copytree(bot.home, standby_home)
    standby_token = bot.mm.issue_token(bot.bot)
    write_home(
        standby_home, env={**bot.env, "MATTERMOST_TOKEN": standby_token, "HERMES_DATABASE_URL": standby_url}
    )
    processes: list[GatewayProcess] = []
    try:
        processes.append(start_gateway_process(bot.home))
        await wait_for_log(processes[0], "mattermost: connected")
        processes.append(start_gateway_process(standby_home))
        await wait_for_log(processes[1], "platforms are shared through leases")
        yield (
            admin,
            Replica(processes[0], holder_url, bot.token),
            Replica(processes[1], standby_url, standby_token),
        )
    finally:
        for process in processes:
            if process.proc.poll() is None:
                process.kill()
        postgres.drop_database(admin)


async def platform_lease(admin: str) -> tuple[str, int, float]:
    """Holder, token and expiry (by the database's clock, in seconds) of Mattermost's lease."""
    async with await psycopg.AsyncConnection.connect(admin) as conn:
        cursor = await conn.execute(
            "SELECT holder, token, expires_at FROM leases WHERE name = 'platform:mattermost'"
        )
        row = await cursor.fetchone()
    assert row is not None
    return row[0], row[1], row[2]


@contextlib.asynccontextmanager
async def socket_history(mm: MattermostEmulator, user_id: str) -> AsyncIterator[list[tuple[int, int]]]:
    """Every change in how many websockets `user_id` has open, as (ms by the emulator's clock, count),
    looked at every 10 ms: a change is never recorded before it happened."""
    history = [(mm.directory.clock(), mm.hub.sockets_of(user_id))]

    async def watch() -> None:
        while True:
            await asyncio.sleep(0.01)
            count = mm.hub.sockets_of(user_id)
            if count != history[-1][1]:
                history.append((mm.directory.clock(), count))

    watcher = asyncio.create_task(watch())
    try:
        yield history
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


async def test_a_holder_cut_off_from_the_database_stops_sending_before_the_standby_starts(
    bot: MattermostBot, postgres: PostgresServer
) -> None:
    story = " ".join(f"word{i}" for i in range(80))
    bot.llm.script(Text("hi"), Text(story, chunk_delay=0.1), Text("the whole story, told by the standby"))
    dm = bot.dm_with(bot.alice)
    async with two_hosts(bot, postgres) as (admin, holder, standby):
        await bot.mm.post_as(bot.alice, dm, "hello")
        await bot.reply(dm, lambda p: p.message == "hi", timeout=15)
        await inbox_settled(admin)
        await bot.mm.post_as(bot.alice, dm, "tell me a story")
        streamed = await bot.reply(dm, lambda p: p.edit_at > 0, timeout=15)
        holder_id, token, _ = await platform_lease(admin)

        async with socket_history(bot.mm, bot.bot.id) as sockets:
            assert postgres.cut_off(holder.url) > 0
            # The holder cannot renew any more: the expiry it last obtained is final, and no standby may
            # take the lease before it.
            _, _, expires_at = await platform_lease(admin)
            await bot.mm.post_as(bot.alice, dm, "sent while the holder was cut off")
            await wait_for_log(standby.process, "mattermost: connected", timeout=15)
            await bot.reply(dm, lambda p: p.message == "the whole story, told by the standby", timeout=15)
            await bot.reply(dm, lambda p: p.message == "sent while the holder was cut off", timeout=15)
            await inbox_settled(admin)
            # The standby's websocket may come up just after it logs that it is connected.
            async with asyncio.timeout(10):
                while sockets[-1][1] != 1:
                    await asyncio.sleep(0.01)
        new_holder, new_token, _ = await platform_lease(admin)
        assert new_holder != holder_id and new_token == token + 1

        holder_writes = [r.at for r in bot.mm.requests if r.token == holder.token and r.method != "GET"]
        standby_writes = [r.at for r in bot.mm.requests if r.token == standby.token and r.method != "GET"]
        assert holder_writes and standby_writes
        # Both clocks are this host's wall clock: the emulator's in ms, the database's in seconds.
        assert max(holder_writes) < expires_at * 1000 <= min(standby_writes)
        # The holder had closed its websocket for good before then, and the standby opened its own after.
        before = [count for at, count in sockets if at < expires_at * 1000]
        after = [count for at, count in sockets if at >= expires_at * 1000]
        assert before[-1] == 0 and after == [1]
        assert "standing down" in holder.process.log()

        postgres.reconnect(holder.url)
        # Back on the database, the old holder checks in again, and stands by.
        async with asyncio.timeout(15):
            while True:
                report = replication_status(standby.process.home)
                seen = {r["pid"]: r["seen_seconds_ago"] for r in report["replicas"]}
                if seen.get(holder.process.proc.pid, LEASE_SECONDS) < LEASE_SECONDS / 3:
                    break
                await asyncio.sleep(0.2)
        held = {lease["name"]: lease["holder"] for lease in report["leases"]}
        assert held["platform:mattermost"] == new_holder
        await bot.mm.post_as(bot.alice, dm, "and after")
        await bot.reply(dm, lambda p: p.message == "and after", timeout=15)
        await inbox_settled(admin)
        assert holder.process.log().count("mattermost: connected") == 1
        # The old holder's run on the story has ended (its lease lapsed; the new holder finished it).
        await wait_for_log(holder.process, "the replica holding it answers", timeout=15)
        async with await psycopg.AsyncConnection.connect(admin) as conn:
            cursor = await conn.execute("SELECT content FROM messages WHERE role = 'assistant' ORDER BY id")
            answers = [row[0] for row in await cursor.fetchall()]
        assert max(r.at for r in bot.mm.requests if r.token == holder.token and r.method != "GET") == max(
            holder_writes
        )

    replies = bot.replies_in(dm)
    assert replies[1].id == streamed.id
    expected = [
        "hi",
        "the whole story, told by the standby",
        "sent while the holder was cut off",
        "and after",
    ]
    assert [p.message for p in replies] == expected
    # The old holder stopped its run when it stood down: its story is not in the session either.
    assert answers == expected
