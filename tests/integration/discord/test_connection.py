"""The Gateway connection: refused tokens and intents, drops, RESUME replay, op 7, op 9, rate limits —
and every message answered once through all of it."""

from __future__ import annotations

import logging

import pytest

from tests.fakes.discord.model import GATEWAY_MESSAGE_CONTENT
from tests.harness.gateway import gateway_in_process

from .conftest import DiscordBot, platform_of, settled, wait_until

# Each message its own run, so that the replies can be counted one by one.
QUEUE = {"display": {"busy_input_mode": "queue"}}


async def _refusal(bot: DiscordBot, caplog: pytest.LogCaptureFixture) -> str:
    """The one error line of a start Discord refuses; the platform stays stopped."""
    with caplog.at_level(logging.WARNING):
        async with gateway_in_process(bot.home) as gateway:
            await wait_until(lambda: "discord" in gateway.gateway.supervisors)
            supervisor = gateway.gateway.supervisors["discord"]
            await wait_until(lambda: supervisor.state == "stopped", timeout=10)
    errors = [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "discord" in r.getMessage()
    ]
    assert len(errors) == 1, errors
    return errors[0]


async def test_a_bad_token_stops_discord_with_one_clear_line(
    bot: DiscordBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.configure(env={"DISCORD_BOT_TOKEN": "not-the-token"})
    problem = await _refusal(bot, caplog)
    assert "DISCORD_BOT_TOKEN" in problem
    attempts = [r for r in bot.dc.rest.requests if r.route == "GET /users/@me"]
    assert len(attempts) == 1  # no retry loop


async def test_a_missing_privileged_intent_names_the_switch_to_turn_on(
    bot: DiscordBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.dc.app.flags &= ~GATEWAY_MESSAGE_CONTENT
    bot.configure()
    problem = await _refusal(bot, caplog)
    assert "4014" in problem and "MESSAGE CONTENT INTENT" in problem and "Developer Portal" in problem
    assert bot.dc.gateway.identifies == 0


async def test_a_dropped_gateway_resumes_and_replays_what_was_missed(bot: DiscordBot) -> None:
    bot.configure(config=QUEUE)
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, dm, "one")
        await bot.reply(dm, lambda m: m.content == "one")
        bot.dc.drop_gateway()
        await bot.dc.post_as(bot.alice, dm, "two")  # published while no socket is attached
        await bot.dc.post_as(bot.alice, dm, "three")
        await bot.reply(dm, lambda m: m.content == "three", timeout=10)
        await settled(gateway)
    assert bot.dc.gateway.identifies == 1 and bot.dc.gateway.resumes >= 1
    assert sorted(m.content for m in bot.replies_in(dm)) == ["one", "three", "two"]


async def test_a_session_that_cannot_resume_is_caught_up_from_history(bot: DiscordBot) -> None:
    bot.configure(config=QUEUE)
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, dm, "one")
        await bot.reply(dm, lambda m: m.content == "one")
        bot.dc.forget_sessions()
        bot.dc.drop_gateway()
        await bot.dc.post_as(bot.alice, dm, "two")
        question = await bot.dc.post_as(bot.bob, bot.general, bot.mention("three, in the channel"))
        await bot.reply(dm, lambda m: m.content == "two", timeout=10)
        await bot.reply(question.id, timeout=10)
        await settled(gateway)
    assert bot.dc.gateway.identifies == 2
    assert [m.content for m in bot.replies_in(dm)] == ["one", "two"]
    assert sorted(r.last_user_text for r in bot.llm.chat_requests) == ["one", "three, in the channel", "two"]


async def test_op7_and_op9_are_followed(bot: DiscordBot) -> None:
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        await bot.dc.gateway_reconnect()
        await wait_until(lambda: bot.dc.gateway.resumes == 1)
        await bot.dc.invalidate_sessions(resumable=False)
        await wait_until(lambda: bot.dc.gateway.identifies == 2)
        await bot.dc.post_as(bot.alice, dm, "still there?")
        await bot.reply(dm, timeout=10)
        await settled(gateway)
    assert [m.content for m in bot.replies_in(dm)] == ["still there?"]


async def test_rate_limits_are_waited_out(bot: DiscordBot) -> None:
    bot.configure(env={"DISCORD_REACTIONS": "false"})  # only the reply's requests hit the forced 429s
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        bot.dc.force_429(2, path_prefix=f"/api/v10/channels/{dm.id}/messages", retry_after=0.2)
        await bot.dc.post_as(bot.alice, dm, "despite the limits")
        await bot.reply(dm, timeout=10)
        await settled(gateway)
    statuses = [r.status for r in bot.dc.rest.requests if r.path == f"/api/v10/channels/{dm.id}/messages"]
    assert statuses[:3] == [429, 429, 200]
    assert len(bot.replies_in(dm)) == 1


@pytest.mark.parametrize("global_", [True, False])
async def test_the_per_channel_message_limit_holds_many_chunks_back_without_losing_one(
    bot: DiscordBot, global_: bool
) -> None:
    from tests.fakes.llm import Text

    bot.dc.limiter.routes["POST /channels/{channel_id}/messages"] = (3, 0.5)
    bot.llm.script(Text("\n\n".join(f"paragraph {i} " + "x" * 1500 for i in range(7))))
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        if global_:
            bot.dc.force_429(1, global_=True, retry_after=0.2)
        await bot.dc.post_as(bot.alice, dm, "a long one")
        await wait_until(lambda: any("paragraph 6" in m.content for m in bot.replies_in(dm)), timeout=15)
        await settled(gateway)
    assert len(bot.replies_in(dm)) == 7


async def test_malformed_events_are_skipped_and_the_bot_keeps_answering(bot: DiscordBot) -> None:
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        bot.dc.gateway.dispatch_raw("MESSAGE_CREATE", {"content": "no id"})
        bot.dc.gateway.dispatch_raw("MESSAGE_CREATE", {"id": "12", "channel_id": dm.id, "author": "nobody"})
        bot.dc.gateway.dispatch_raw("INTERACTION_CREATE", {"type": 2, "data": {}})
        bot.dc.gateway.dispatch_raw("GUILD_CREATE", {"channels": "not a list"})
        bot.dc.gateway.dispatch_raw("MESSAGE_CREATE", None)
        await bot.dc.post_as(bot.alice, dm, "still answered")
        await bot.reply(dm, timeout=10)
        await settled(gateway)
    assert [m.content for m in bot.replies_in(dm)] == ["still answered"]


async def test_unanswered_heartbeats_end_the_link_and_the_session_is_resumed(bot: DiscordBot) -> None:
    bot.dc.gateway.heartbeat_interval_ms = 200
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        bot.dc.gateway.ack_heartbeats = False
        await wait_until(lambda: bot.dc.gateway.resumes >= 1, timeout=10)
        bot.dc.gateway.ack_heartbeats = True
        await bot.dc.post_as(bot.alice, dm, "after the zombie link")
        await bot.reply(dm, timeout=10)
        await settled(gateway)
    assert bot.dc.gateway.identifies == 1  # resumed, not identified again


async def test_a_reconnect_request_before_hello_is_followed_by_another_try(bot: DiscordBot) -> None:
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        bot.dc.gateway.reconnect_before_hello = True
        bot.dc.drop_gateway()
        await wait_until(lambda: bot.dc.gateway.resumes >= 1, timeout=10)
        await bot.dc.post_as(bot.alice, dm, "hello again")
        await bot.reply(dm, timeout=10)
        await settled(gateway)
    assert not bot.dc.gateway.reconnect_before_hello and bot.dc.gateway.identifies == 1


async def test_a_token_refused_while_running_halts_discord_with_the_reason(bot: DiscordBot) -> None:
    async with bot.running() as gateway:
        await bot.dc.close_gateway(4004, "Authentication failed.")
        platform = platform_of(gateway)
        await wait_until(lambda: platform.halted, timeout=10)
        assert "4004" in (platform.problem or "") and "DISCORD_BOT_TOKEN" in (platform.problem or "")
        identifies = bot.dc.gateway.identifies
    assert identifies == 1 and bot.dc.gateway.resumes == 0  # no retry loop
