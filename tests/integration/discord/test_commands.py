"""The hub's commands on Discord: as slash commands registered once, and as `!cmd` text."""

from __future__ import annotations

from .conftest import DiscordBot, settled, wait_until


async def test_slash_commands_are_registered_at_start_and_not_rewritten_on_restart(bot: DiscordBot) -> None:
    async with bot.running():
        await wait_until(lambda: "help" in bot.dc.app.commands)
    assert {"help", "new", "sethome", "status"} <= set(bot.dc.app.commands)
    assert bot.dc.app.command_writes == 1
    async with bot.running():
        await wait_until(lambda: _command_reads(bot) == 2)
    assert bot.dc.app.command_writes == 1


def _command_reads(bot: DiscordBot) -> int:
    return sum(1 for r in bot.dc.rest.requests if r.route == "GET /applications/{app_id}/commands")


async def test_a_slash_command_is_acknowledged_at_once_and_answered_through_the_hub(bot: DiscordBot) -> None:
    async with bot.running() as gateway:
        await wait_until(lambda: "whoami" in bot.dc.app.commands)
        interaction = await bot.dc.interact_as(bot.alice, bot.general, "whoami")
        reply = await bot.reply(bot.general, lambda m: bot.alice.id in m.content)
        await settled(gateway)
    assert interaction.responded == 5 and interaction.response_flags & 64  # deferred, only for alice
    assert interaction.deleted  # the placeholder goes once the answer is on its way
    assert "discord" in reply.content


async def test_a_slash_command_from_a_stranger_is_not_run(bot: DiscordBot) -> None:
    async with bot.running() as gateway:
        await wait_until(lambda: "sethome" in bot.dc.app.commands)
        await bot.dc.interact_as(bot.carol, bot.general, "sethome")
        await settled(gateway)
        assert gateway.gateway.hub is not None
        assert await gateway.gateway.hub.store.homes.get("discord") is None


async def test_bang_commands_work_in_a_channel_without_a_mention(bot: DiscordBot) -> None:
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, bot.general, "!whoami")
        reply = await bot.reply(bot.general)
        await settled(gateway)
    assert bot.alice.id in reply.content
    assert bot.llm.chat_requests == []
