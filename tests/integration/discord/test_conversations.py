"""Who the bot answers on Discord, where, and how the answer is delivered."""

from __future__ import annotations

from tests.fakes.llm import Text

from .conftest import DiscordBot, settled


async def test_a_dm_from_an_allowed_user_is_answered_in_the_dm(bot: DiscordBot) -> None:
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, dm, "hello there")
        reply = await bot.reply(dm)
        await settled(gateway)
    assert reply.content == "hello there"
    assert bot.llm.chat_requests[-1].last_user_text == "hello there"
