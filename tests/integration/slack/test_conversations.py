"""Who the bot answers on Slack, where, and how its replies look."""

from __future__ import annotations

from tests.fakes.llm import Text
from tests.fakes.slack import Delivery

from .conftest import SlackBot, settled


async def heard_everything(bot: SlackBot) -> None:
    """Events reach the bot in order on one socket: once a DM posted last is answered, all were heard."""
    dm = bot.dm(bot.alice)
    await bot.slack.post(bot.alice, dm, "marker")
    await bot.reply(dm, lambda m: m.text == "marker")


async def test_a_dm_is_answered_flat_and_the_event_acked_before_the_run(bot: SlackBot) -> None:
    bot.llm.instant = False
    bot.llm.script(Text("hello alice", delay=0.5))
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        asked = await bot.slack.post(bot.alice, dm, "hi there")
        await bot.slack.wait_for(lambda: bot.slack.socket.acks, timeout=2)
        # acked while the model is still thinking
        assert not bot.replies_in(dm)
        reply = await bot.reply(dm, lambda m: m.text == "hello alice")
        assert reply.thread_ts is None
        await settled(gateway)
        assert bot.llm.chat_requests[-1].last_user_text == "hi there"
        assert asked.reactions == {"white_check_mark": [bot.slack.bot.id]}


async def test_a_channel_mention_is_answered_in_its_thread_and_the_thread_continues(bot: SlackBot) -> None:
    async with bot.running() as gateway:
        asked = await bot.slack.post(bot.alice, bot.general, f"{bot.mention} what is 2+2?")
        reply = await bot.reply(bot.general)
        assert reply.thread_ts == asked.ts and reply.text == "what is 2+2?"
        await settled(gateway)
        await bot.slack.post(bot.alice, bot.general, "and 3+3?", thread_ts=asked.ts)
        await bot.reply(bot.general, lambda m: m.text == "and 3+3?")
        await settled(gateway)
        # one session for the thread: the second turn saw the first
        assert "what is 2+2?" in str(bot.llm.chat_requests[-1].messages)
        await bot.slack.post(bot.alice, bot.general, "not for the bot")
        await settled(gateway)
        assert [m.text for m in bot.replies_in(bot.general)] == ["what is 2+2?", "and 3+3?"]


async def test_strangers_other_bots_and_unmentioned_messages_are_not_answered(bot: SlackBot) -> None:
    other_bot = bot.slack.add_bot_user("otherbot")
    bot.general.members.add(other_bot.id)
    async with bot.running() as gateway:
        await bot.slack.post(bot.carol, bot.general, f"{bot.mention} I am not on the list")
        await bot.slack.post(other_bot, bot.general, f"{bot.mention} beep")
        await bot.slack.post(bot.bob, bot.general, "just chatting")
        await heard_everything(bot)
        await settled(gateway)
        assert bot.replies_in(bot.general) == []
        assert [r.last_user_text for r in bot.llm.chat_requests] == ["marker"]


async def test_free_response_channels_and_allowed_channels(bot: SlackBot) -> None:
    lounge = bot.slack.add_channel("lounge", [bot.alice, bot.slack.bot])
    closed = bot.slack.add_channel("closed", [bot.alice, bot.slack.bot])
    bot.configure(
        env={
            "SLACK_FREE_RESPONSE_CHANNELS": lounge.id,
            "SLACK_ALLOWED_CHANNELS": f"{lounge.id},{bot.general.id}",
        }
    )
    async with bot.running() as gateway:
        await bot.slack.post(bot.alice, lounge, "no mention needed here")
        await bot.reply(lounge, lambda m: m.text == "no mention needed here")
        await bot.slack.post(bot.alice, closed, f"{bot.mention} but not allowed here")
        await heard_everything(bot)
        await settled(gateway)
        assert bot.replies_in(closed) == []


async def test_markdown_is_rendered_as_mrkdwn_with_a_table_block(bot: SlackBot) -> None:
    bot.llm.script(Text("**Total** for <you> & me:\n\n| a | b |\n|---|---|\n| 1 | 2 |"))
    async with bot.running():
        dm = bot.dm(bot.alice)
        await bot.slack.post(bot.alice, dm, "sum it up")
        reply = await bot.reply(dm)
        assert reply.text.startswith("*Total* for &lt;you&gt; &amp; me:")
        assert reply.blocks is not None
        assert reply.blocks[-1]["type"] == "rich_text"


async def test_a_long_streamed_reply_is_split_under_the_update_limit(bot: SlackBot) -> None:
    code = "```\n" + "\n".join(f"line {i}" for i in range(800)) + "\n```"
    bot.llm.instant = False
    bot.llm.script(Text(code, chunk_delay=0.001))
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        await bot.slack.post(bot.alice, dm, "long please")
        await bot.reply(dm)
        await settled(gateway, timeout=20)
        replies = bot.replies_in(dm)
        assert len(replies) >= 2
        assert all(len(m.text) <= 4000 for m in replies)
        # every chunk opens and closes its own fence
        assert all(m.text.startswith("```") and m.text.count("```") == 2 for m in replies)
        assert not [r for r in bot.slack.requests if r.error == "msg_too_long"]


async def test_redelivered_and_twice_heard_events_are_answered_once(bot: SlackBot) -> None:
    bot.configure(env={"SLACK_REACTIONS": "false"})
    async with bot.running() as gateway:
        socket = bot.slack.socket
        # the two envelopes of the mention (app_mention and message) lose their acks: Slack sends both
        # again with retry_attempt 1
        socket.acks_to_lose = 2
        asked = await bot.slack.post(bot.alice, bot.general, f"{bot.mention} once only")
        await bot.reply(bot.general)

        def heard() -> list[Delivery]:
            return [d for d in socket.deliveries if d.envelope["payload"]["event"]["ts"] == asked.ts]

        await bot.slack.wait_for(lambda: len(heard()) == 4, timeout=5)
        await settled(gateway)
        assert sorted(d.envelope["retry_attempt"] for d in heard()) == [0, 0, 1, 1]
        assert {d.envelope["retry_reason"] for d in heard() if d.envelope["retry_attempt"]} == {"timeout"}
        assert [m.text for m in bot.replies_in(bot.general)] == ["once only"]
        # heard live by this process: no look for an earlier copy of the reply
        assert not [r for r in bot.slack.requests if r.args.get("include_all_metadata")]
        assert asked.reactions == {}  # SLACK_REACTIONS=false


async def test_slash_command_runs_the_same_command_code(bot: SlackBot) -> None:
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        await bot.slack.post(bot.alice, dm, "remember me")
        await bot.reply(dm)
        call = await bot.slack.slash(bot.alice, dm, "/hermes", "new")
        ack = await call.acked()
        assert ack is not None and "Running" in ack["text"]
        await bot.reply(dm, lambda m: m.text != "remember me")
        await bot.slack.post(bot.alice, dm, "!help")
        await bot.reply(dm, lambda m: "/new" in m.text)
        await settled(gateway)
        assert len(bot.replies_in(dm)) == 3
        # no model call for the commands
        assert [r.last_user_text for r in bot.llm.chat_requests] == ["remember me"]


async def test_a_slash_command_where_the_bot_is_not_a_member_is_answered_through_response_url(
    bot: SlackBot,
) -> None:
    elsewhere = bot.slack.add_channel("elsewhere", [bot.alice])
    async with bot.running() as gateway:
        call = await bot.slack.slash(bot.alice, elsewhere, "/hermes", "whoami")
        await call.acked()
        await bot.slack.wait_for(lambda: call.responses, timeout=5)
        await settled(gateway)
        [response] = call.responses
        assert bot.alice.id in response["text"] and response["replace_original"] is True
        assert bot.slack.messages(elsewhere) == []


async def test_other_bots_with_allow_bots_mentions(bot: SlackBot) -> None:
    other_bot = bot.slack.add_bot_user("otherbot")
    bot.general.members.add(other_bot.id)
    bot.configure(
        allowed=[bot.alice, other_bot],
        env={"SLACK_ALLOW_BOTS": "mentions"},
        config={"gateway": {"allow_bots": True}},
    )
    async with bot.running() as gateway:
        await bot.slack.post(other_bot, bot.general, "beep, not for you")
        await bot.slack.post(other_bot, bot.general, f"{bot.mention} beep for you")
        await bot.reply(bot.general, lambda m: m.text == "beep for you")
        await heard_everything(bot)
        await settled(gateway)
        assert [m.text for m in bot.replies_in(bot.general)] == ["beep for you"]


async def test_with_no_allowlist_nobody_is_answered_and_a_dm_says_why(bot: SlackBot) -> None:
    bot.configure(allowed=[])
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        await bot.slack.post(bot.alice, dm, "hello?")
        denial = await bot.reply(dm)
        await settled(gateway)
        assert bot.alice.id in denial.text
        assert bot.llm.chat_requests == []
