"""A real `hermes gateway run` stopped and started again: what was said meanwhile is answered, once."""

from __future__ import annotations

import asyncio

from hermes.gateway.hub import INTERRUPT_ACK
from tests.fakes.llm import Echo, Text
from tests.harness.gateway import start_gateway_process, wait_for_log

from .conftest import MattermostBot, platform_of, settled, wait_until


async def test_posts_made_while_the_gateway_was_stopped_are_each_answered_once_after_start(
    bot: MattermostBot,
) -> None:
    bot.configure(config={"display": {"busy_input_mode": "queue"}})
    dm = bot.dm_with(bot.alice)
    first = start_gateway_process(bot.home)
    try:
        await wait_for_log(first, "mattermost: connected")
        await bot.mm.post_as(bot.alice, dm, "one")
        await bot.reply(dm, lambda p: p.message == "one", timeout=15)
    finally:
        assert first.terminate() == 0
    await bot.mm.post_as(bot.alice, dm, "two")
    await bot.mm.post_as(bot.alice, dm, "three")
    await bot.mm.post_as(bot.bob, bot.town, "@hermes four, in the channel")
    await bot.mm.post_as(bot.bob, bot.town, "five, not for the bot")
    second = start_gateway_process(bot.home)
    try:
        await wait_for_log(second, "mattermost: connected")
        await bot.reply(bot.town, lambda p: p.message == "four, in the channel", timeout=15)
        await bot.reply(dm, lambda p: p.message == "three", timeout=15)
        await bot.mm.post_as(bot.alice, dm, "six")
        await bot.reply(dm, lambda p: p.message == "six", timeout=15)
    finally:
        assert second.terminate() == 0
    assert [p.message for p in bot.replies_in(dm)] == ["one", "two", "three", "six"]
    assert [p.message for p in bot.replies_in(bot.town)] == ["four, in the channel"]
    assert sorted(r.last_user_text for r in bot.llm.chat_requests) == sorted(
        ["one", "two", "three", "four, in the channel", "six"]
    )


async def test_a_reply_cut_by_sigkill_is_finished_once_after_restart(bot: MattermostBot) -> None:
    story = " ".join(f"word{i}" for i in range(60))
    bot.llm.instant = False
    bot.llm.script(Text(story, chunk_delay=0.05), Text("the whole story, told after the restart"))
    bot.configure()
    dm = bot.dm_with(bot.alice)
    first = start_gateway_process(bot.home)
    try:
        await wait_for_log(first, "mattermost: connected")
        await bot.mm.post_as(bot.alice, dm, "tell me a story")
        streamed = await bot.reply(dm, lambda p: p.edit_at > 0, timeout=15)
    finally:
        first.kill()
    assert bot.mm.get_post(streamed.id).message != story
    second = start_gateway_process(bot.home)
    try:
        await wait_for_log(second, "mattermost: connected")
        await bot.reply(dm, lambda p: p.message == "the whole story, told after the restart", timeout=15)
    finally:
        assert second.terminate() == 0
    assert [p.id for p in bot.replies_in(dm)] == [streamed.id]


async def test_two_dms_sent_while_stopped_are_one_input_without_interrupt(bot: MattermostBot) -> None:
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, dm, "hello")
        await bot.reply(dm, lambda p: p.message == "hello")
        await settled(gateway)
    # The timings were 10 s and 2 s before the start; the gaps are shortened, their order kept.
    await bot.mm.post_as(bot.alice, dm, "can you look at the logs?")
    await asyncio.sleep(0.8)
    await bot.mm.post_as(bot.alice, dm, "the ones from last night")
    await asyncio.sleep(0.2)
    bot.llm.script(Echo(delay=0.5))
    async with bot.running() as gateway:
        await bot.reply(dm, lambda p: p.message != "hello")
        await settled(gateway)
    replies = [p.message for p in bot.replies_in(dm)]
    assert INTERRUPT_ACK not in replies
    assert replies == ["hello", "can you look at the logs?\n\nthe ones from last night"]
    assert len(bot.llm.chat_requests) == 2


async def test_posts_caught_up_after_a_reconnect_are_one_input_without_interrupt(bot: MattermostBot) -> None:
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        platform = platform_of(gateway)
        await bot.mm.post_as(bot.alice, dm, "hello")
        await bot.reply(dm, lambda p: p.message == "hello")
        await settled(gateway)
        bot.llm.script(Echo(delay=0.5))
        restart = asyncio.create_task(bot.mm.restart(downtime=0.5))
        await wait_until(lambda: platform.problem is not None, timeout=5)
        await bot.mm.post_as(bot.alice, dm, "are you back?")
        await bot.mm.post_as(bot.alice, dm, "I have a question")
        await restart
        await bot.reply(dm, lambda p: p.message != "hello")
        await settled(gateway)
    replies = [p.message for p in bot.replies_in(dm)]
    assert replies == ["hello", "are you back?\n\nI have a question"]
