"""Talking to the bot through the emulator: DMs, mentions, threads, sessions, the allowlist, commands."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.llm import Text
from tests.fakes.llm.recording import content_text

from .conftest import MattermostBot, hub_of, settled


def user_texts(request: Any) -> list[str]:
    return [content_text(m.get("content")) for m in request.messages if m.get("role") == "user"]


async def test_a_dm_is_answered(bot: MattermostBot) -> None:
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, dm, "hello there")
        reply = await bot.reply(dm)
        await settled(gateway)
    assert reply.message == "hello there"
    assert reply.root_id == ""
    assert len(bot.replies_in(dm)) == 1


async def test_a_channel_post_is_answered_only_when_it_mentions_the_bot(bot: MattermostBot) -> None:
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, bot.town, "just chatting among humans")
        await bot.mm.post_as(bot.alice, bot.town, "`@hermes` in code does not count")
        asked = await bot.mm.post_as(bot.alice, bot.town, "@hermes what is the capital of France?")
        reply = await bot.reply(bot.town)
        await settled(gateway)
    assert reply.message == "what is the capital of France?"  # the echo shows what the agent read
    assert reply.root_id == "" and reply.create_at > asked.create_at
    assert len(bot.replies_in(bot.town)) == 1
    assert [r.last_user_text for r in bot.llm.chat_requests] == ["what is the capital of France?"]


async def test_thread_mode_answers_under_the_mention(bot: MattermostBot) -> None:
    bot.configure(env={"MATTERMOST_REPLY_MODE": "thread"})
    async with bot.running() as gateway:
        asked = await bot.mm.post_as(bot.alice, bot.town, "@hermes start a thread please")
        reply = await bot.reply(bot.town)
        await settled(gateway)
    assert reply.root_id == asked.id
    typing = [r for r in bot.mm.requests if r.path == "/api/v4/users/me/typing"]
    assert typing and typing[0].body == {"channel_id": bot.town.id, "parent_id": asked.id}


async def test_a_reply_inside_a_thread_goes_to_its_root(bot: MattermostBot) -> None:
    bot.configure(env={"MATTERMOST_REPLY_MODE": "thread"})
    root = await bot.mm.post_as(bot.bob, bot.town, "a thread about lunch")
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, bot.town, "@hermes pizza or pasta?", root_id=root.id)
        reply = await bot.reply(bot.town)
        await settled(gateway)
    assert reply.root_id == root.id


async def test_a_thread_follow_up_keeps_the_context_without_a_new_mention(bot: MattermostBot) -> None:
    bot.configure(env={"MATTERMOST_REPLY_MODE": "thread"})
    bot.llm.script(Text("Nice to meet you, Alice."), Text("Your name is Alice."))
    async with bot.running() as gateway:
        root = await bot.mm.post_as(bot.alice, bot.town, "@hermes my name is Alice")
        await bot.reply(bot.town, lambda p: p.message.startswith("Nice"))
        await settled(gateway)
        await bot.mm.post_as(bot.alice, bot.town, "what is my name?", root_id=root.id)
        answer = await bot.reply(bot.town, lambda p: p.message.startswith("Your"))
        await bot.mm.post_as(bot.bob, bot.town, "humans talking, no mention")
        await settled(gateway)
    assert answer.root_id == root.id
    assert user_texts(bot.llm.chat_requests[-1]) == ["my name is Alice", "what is my name?"]
    assert len(bot.llm.chat_requests) == 2


async def test_two_people_in_one_channel_have_separate_sessions(bot: MattermostBot) -> None:
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, bot.town, "@hermes I am Alice")
        await bot.reply(bot.town, lambda p: "Alice" in p.message)
        await bot.mm.post_as(bot.bob, bot.town, "@hermes I am Bob")
        await bot.reply(bot.town, lambda p: "Bob" in p.message)
        await settled(gateway)
    assert user_texts(bot.llm.chat_requests[1]) == ["I am Bob"]


async def test_a_person_not_on_the_allowlist_is_told_their_id_in_a_dm_and_ignored_in_channels(
    bot: MattermostBot,
) -> None:
    dm = bot.dm_with(bot.carol)
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.carol, bot.town, "@hermes let me in")
        await bot.mm.post_as(bot.carol, dm, "hello?")
        notice = await bot.reply(dm)
        await settled(gateway)
    assert bot.carol.id in notice.message
    assert bot.replies_in(bot.town) == []
    assert bot.llm.chat_requests == []


async def test_group_messages_need_a_mention(bot: MattermostBot) -> None:
    group = bot.mm.group_channel(bot.alice, bot.bob, bot.bot)
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, group, "bob, lunch?")
        await bot.mm.post_as(bot.bob, group, "@hermes suggest a place")
        reply = await bot.reply(group)
        await settled(gateway)
    assert reply.message == "suggest a place"
    assert len(bot.replies_in(group)) == 1


async def test_free_response_channels_and_require_mention_off(bot: MattermostBot) -> None:
    lounge = bot.mm.create_channel(bot.team, "O", [bot.alice, bot.bot], name="lounge")
    bot.configure(env={"MATTERMOST_FREE_RESPONSE_CHANNELS": "lounge"})
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, lounge, "anyone here?")
        await bot.reply(lounge)
        await bot.mm.post_as(bot.alice, bot.town, "not in town square though")
        await settled(gateway)
    assert bot.replies_in(bot.town) == []
    bot.configure(env={"MATTERMOST_REQUIRE_MENTION": "false"})
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, bot.town, "now everywhere")
        assert (await bot.reply(bot.town)).message == "now everywhere"


async def test_own_system_and_bot_posts_are_ignored_and_strange_frames_tolerated(bot: MattermostBot) -> None:
    other, _ = bot.mm.create_bot("otherbot")
    bot.mm.add_member(bot.town, other)
    bot.configure(allowed=[bot.alice, other])
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        bot.mm.publish_raw("status_change", {"status": "away", "user_id": bot.alice.id}, user=bot.bot)
        bot.mm.publish_raw("something_new", {"x": 1}, channel=bot.town)
        bot.mm.publish_raw("posted", {"post": "not json"}, channel=bot.town)
        joined = bot.mm.add_member(bot.town, bot.mm.create_user("dave"), by=bot.alice)
        from_other = await bot.mm.post_as(other, bot.town, "@hermes I am a bot")
        await bot.mm.post_as(bot.alice, dm, "still listening?")
        reply = await bot.reply(dm)
        await settled(gateway)
        inbox = hub_of(gateway).store.inbox
        skipped = await inbox.get("mattermost", from_other.id)
        assert skipped is not None and skipped.skip_reason == "from a bot"
        assert await inbox.get("mattermost", joined.id) is None
        assert await inbox.get("mattermost", reply.id) is None
    assert bot.replies_in(bot.town) == []
    assert [r.last_user_text for r in bot.llm.chat_requests] == ["still listening?"]


async def test_sethome_works_typed_in_the_web_client_with_bang_and_after_a_mention(
    bot: MattermostBot,
) -> None:
    ops = bot.mm.create_channel(bot.team, "O", [bot.alice, bot.bot], name="ops")
    bot.configure(env={"MATTERMOST_REPLY_MODE": "thread"})
    async with bot.running() as gateway:
        hub = gateway.gateway.hub
        assert hub is not None
        await bot.mm.webapp_send(bot.alice, ops, "/sethome")
        await bot.reply(ops, lambda p: "home channel" in p.message)
        assert await home_of(hub) == ops.id
        await bot.mm.post_as(bot.alice, bot.town, "!sethome")
        await bot.reply(bot.town, lambda p: "home channel" in p.message)
        assert await home_of(hub) == bot.town.id
        await bot.mm.post_as(bot.alice, ops, "@hermes sethome")
        await wait_for_home(hub, ops.id)
        await settled(gateway)
        home = await hub.store.homes.get("mattermost")
    assert home is not None and home.thread_id is None
    assert bot.llm.chat_requests == []
    assert all(p.root_id == "" for p in bot.replies_in(ops))


async def home_of(hub: Any) -> str | None:
    home = await hub.store.homes.get("mattermost")
    return home.chat_id if home is not None else None


async def wait_for_home(hub: Any, chat_id: str, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while await home_of(hub) != chat_id:
            await asyncio.sleep(0.01)
