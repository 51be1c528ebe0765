"""Losing the server and getting it back: dropped sockets, restarts, rate limits, refused tokens."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.fakes.llm import Text

from .conftest import MattermostBot, platform_of, settled, wait_until


async def test_a_socket_dropped_mid_reply_loses_nothing_and_doubles_nothing(bot: MattermostBot) -> None:
    story = " ".join(f"word{i}" for i in range(50))
    bot.llm.instant = False
    bot.llm.script(Text(story, chunk_delay=0.03))
    alice_dm, bob_dm = bot.dm_with(bot.alice), bot.dm_with(bot.bob)
    async with bot.running() as gateway:
        platform = platform_of(gateway)
        first_connection = platform.connection_id
        await bot.mm.post_as(bot.alice, alice_dm, "tell me a story")
        streaming = await bot.reply(alice_dm)
        bot.mm.drop_sockets()
        await bot.mm.post_as(bot.bob, bob_dm, "said while the bot was cut off")
        answer = await bot.reply(bob_dm)
        await bot.reply(alice_dm, lambda p: p.message == story)
        await settled(gateway)
        assert platform.connection_id not in (None, first_connection)
        assert platform.problem is None
    assert answer.message == "said while the bot was cut off"
    assert [p.id for p in bot.replies_in(alice_dm)] == [streaming.id]
    assert len(bot.replies_in(bob_dm)) == 1
    edits = [
        r for r in bot.mm.requests if r.method == "PUT" and r.path == f"/api/v4/posts/{streaming.id}/patch"
    ]
    assert len(edits) >= 2  # streamed, then the final text
    assert len(bot.llm.chat_requests) == 2


async def test_a_server_restart_with_a_new_connection_id(bot: MattermostBot) -> None:
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        platform = platform_of(gateway)
        before = platform.connection_id
        await bot.mm.post_as(bot.alice, dm, "before")
        await bot.reply(dm, lambda p: p.message == "before")
        await settled(gateway)
        restart = asyncio.create_task(bot.mm.restart(downtime=0.3, version="9.11.3"))
        await wait_until(lambda: platform.problem is not None, timeout=5)
        await bot.mm.post_as(bot.alice, dm, "during")
        await restart
        await bot.reply(dm, lambda p: p.message == "during")
        await settled(gateway)
        await wait_until(lambda: platform.connection_id not in (None, before), timeout=5)
        await bot.mm.post_as(bot.alice, dm, "after")
        await bot.reply(dm, lambda p: p.message == "after")
        await settled(gateway)
        assert platform.problem is None
        assert platform.connection.listener.stream.hello.server_version.startswith("9.11.3.")  # type: ignore[union-attr]
    assert [p.message for p in bot.replies_in(dm)] == ["before", "during", "after"]


async def test_every_reply_arrives_through_a_storm_of_429s(bot: MattermostBot) -> None:
    people = [bot.mm.create_user(f"user{i}") for i in range(6)]
    chats = [bot.mm.direct_channel(person, bot.bot) for person in people]
    bot.configure(allowed=people)
    async with bot.running() as gateway:
        bot.mm.rate_limit(per_second=10, burst=2)
        bot.mm.force_429(2, path_prefix="/api/v4/posts")
        await asyncio.gather(
            *(
                bot.mm.post_as(person, chat, f"question {i}")
                for i, (person, chat) in enumerate(zip(people, chats, strict=True))
            )
        )
        for i, chat in enumerate(chats):
            await bot.reply(chat, lambda p, i=i: p.message == f"question {i}", timeout=20)
        await settled(gateway, timeout=20)
    assert sum(1 for r in bot.mm.requests if r.status == 429) >= 2
    assert all(len(bot.replies_in(chat)) == 1 for chat in chats)


async def test_a_refused_token_stops_the_platform_with_one_clear_line(
    bot: MattermostBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.configure(env={"MATTERMOST_TOKEN": "not-a-valid-token"})
    from tests.harness.gateway import gateway_in_process

    with caplog.at_level(logging.WARNING):
        async with gateway_in_process(bot.home) as gateway:
            await wait_until(lambda: "mattermost" in gateway.gateway.supervisors)
            supervisor = gateway.gateway.supervisors["mattermost"]
            await wait_until(lambda: supervisor.state == "stopped", timeout=5)
            assert "credentials rejected" in (supervisor.platform.problem or "")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "mattermost" in r.getMessage()]
    assert len(errors) == 1
    assert "MATTERMOST_TOKEN" in errors[0].getMessage()


async def test_a_token_revoked_while_running_stops_reconnecting(
    bot: MattermostBot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        async with bot.running() as gateway:
            platform = platform_of(gateway)
            bot.mm.revoke_token(bot.bot)
            bot.mm.drop_sockets()
            await wait_until(lambda: "credentials rejected" in (platform.problem or ""), timeout=5)
            task = platform.connection.task  # type: ignore[union-attr]
            await wait_until(lambda: task is not None and task.done(), timeout=5)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "mattermost" in r.getMessage()]
    assert len(errors) == 1
