"""A real `hermes gateway run` stopped, or killed, and started again: what was said meanwhile is answered,
and a cut reply finished, each exactly once."""

from __future__ import annotations

from hermes.platforms.base import ChatRef
from tests.fakes.llm import Text
from tests.harness.gateway import start_gateway_process, wait_for_log

from .conftest import DiscordBot, platform_of

CONFIG = {"display": {"busy_input_mode": "queue"}}


async def test_messages_sent_while_the_gateway_was_stopped_are_each_answered_once_after_start(
    bot: DiscordBot,
) -> None:
    bot.configure(config=CONFIG)
    dm = bot.dc.dm_channel(bot.alice)
    first = start_gateway_process(bot.home)
    try:
        await wait_for_log(first, "discord: connected")
        await bot.dc.post_as(bot.alice, dm, "one")
        await bot.reply(dm, lambda m: m.content == "one", timeout=15)
    finally:
        assert first.terminate() == 0
    await bot.dc.post_as(bot.alice, dm, "two")
    await bot.dc.post_as(bot.alice, dm, "three")
    question = await bot.dc.post_as(bot.bob, bot.general, bot.mention("four, in the channel"))
    await bot.dc.post_as(bot.bob, bot.general, "five, not for the bot")
    second = start_gateway_process(bot.home)
    try:
        await wait_for_log(second, "discord: connected")
        await bot.reply(question.id, lambda m: m.content == "four, in the channel", timeout=15)
        await bot.reply(dm, lambda m: m.content == "three", timeout=15)
        await bot.dc.post_as(bot.alice, dm, "six")
        await bot.reply(dm, lambda m: m.content == "six", timeout=15)
    finally:
        assert second.terminate() == 0
    assert [m.content for m in bot.replies_in(dm)] == ["one", "two", "three", "six"]
    assert bot.replies_in(bot.general) == []
    assert sorted(r.last_user_text for r in bot.llm.chat_requests) == sorted(
        ["one", "two", "three", "four, in the channel", "six"]
    )


async def test_a_reply_cut_by_sigkill_is_finished_once_after_restart(bot: DiscordBot) -> None:
    story = " ".join(f"word{i}" for i in range(60))
    bot.llm.instant = False
    bot.llm.script(Text(story, chunk_delay=0.05), Text("the whole story, told after the restart"))
    bot.configure()
    dm = bot.dc.dm_channel(bot.alice)
    first = start_gateway_process(bot.home)
    try:
        await wait_for_log(first, "discord: connected")
        await bot.dc.post_as(bot.alice, dm, "tell me a story")
        streamed = await bot.reply(dm, lambda m: m.edited is not None, timeout=15)
    finally:
        first.kill()
    assert bot.dc.get_message(streamed.id).content != story
    second = start_gateway_process(bot.home)
    try:
        await wait_for_log(second, "discord: connected")
        await bot.reply(dm, lambda m: m.content == "the whole story, told after the restart", timeout=15)
    finally:
        assert second.terminate() == 0
    assert [m.id for m in bot.replies_in(dm)] == [streamed.id]


async def test_a_chunk_sent_again_after_a_crash_is_not_posted_twice(bot: DiscordBot) -> None:
    """A crash between Discord creating a chunk and the hub recording it: the redo sends it again with
    the same idempotency key, and the nonce (enforce_nonce) makes Discord return the first message."""
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        platform = platform_of(gateway)
        chat = ChatRef("discord", dm.id, "dm")
        first = await platform.send(chat, "first chunk", idempotency_key="1234:0")
        again = await platform.send(chat, "first chunk", idempotency_key="1234:0")
        other = await platform.send(chat, "second chunk", idempotency_key="1234:1")
    assert again.message_id == first.message_id != other.message_id
    assert [m.content for m in bot.replies_in(dm)] == ["first chunk", "second chunk"]
