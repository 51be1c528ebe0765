"""Who is mentioned, by the server's rules (mention_keywords.go, mention_parser_standard.go)."""

from __future__ import annotations

import json

import pytest

from tests.fakes.mattermost import Channel, MattermostEmulator, User
from tests.fakes.mattermost.mentions import markdown_text_runs

from .conftest import World


def _mentioned(mm: MattermostEmulator, post_id: str) -> set[str]:
    """The users the `posted` event for this post was to tell they were mentioned."""
    posted = [e for e in mm.events if e.name == "posted" and json.loads(e.data["post"])["id"] == post_id]
    assert len(posted) == 1
    return set(posted[0].mentions)


async def _mentions(mm: MattermostEmulator, author: User, channel: Channel, text: str) -> set[str]:
    post = await mm.post_as(author, channel, text)
    return _mentioned(mm, post.id)


@pytest.mark.parametrize(
    "text",
    [
        "@agentbot hi",
        "hi @AgentBot",
        "hi @agentbot.",
        "hi @agentbot:",
        "(@agentbot)",
        "**@agentbot** bold",
        "> @agentbot quoted",
        "- @agentbot in a list",
        "[@agentbot](http://example.com)",
        "@agentbot's idea",
        "@agentbot-",
    ],
)
async def test_username_mentions(mm: MattermostEmulator, world: World, text: str) -> None:
    assert await _mentions(mm, world.alice, world.town, text) == {world.bot.id}


@pytest.mark.parametrize(
    "text",
    [
        "agentbot without the at",
        "`@agentbot` in code",
        "```\n@agentbot\n```",
        "    @agentbot indented code",
        ":agentbot: is an emoji",
        "@agentbotx is someone else",
        "email@agentbot.com",
    ],
)
async def test_not_mentions(mm: MattermostEmulator, world: World, text: str) -> None:
    assert await _mentions(mm, world.alice, world.town, text) == set()


async def test_channel_wide_mentions(mm: MattermostEmulator, world: World) -> None:
    everyone_but_alice = {world.bob.id, world.bot.id}
    assert await _mentions(mm, world.alice, world.town, "@channel standup") == everyone_but_alice
    assert await _mentions(mm, world.alice, world.town, "@all standup") == everyone_but_alice
    assert await _mentions(mm, world.alice, world.town, "@here anyone?") == set()
    mm.set_status(world.bob, "online")
    assert await _mentions(mm, world.alice, world.town, "@here anyone?") == {world.bob.id}


async def test_channel_mentions_respect_user_and_member_settings(
    mm: MattermostEmulator, world: World
) -> None:
    world.bob.notify_props["channel"] = "false"
    world.town.members[world.bot.id].notify_props["mark_unread"] = "mention"
    assert await _mentions(mm, world.alice, world.town, "@channel") == set()
    world.town.members[world.bot.id].notify_props["ignore_channel_mentions"] = "off"
    assert await _mentions(mm, world.alice, world.town, "@channel") == {world.bot.id}


async def test_mention_keys_and_first_name(mm: MattermostEmulator, world: World) -> None:
    world.bot.notify_props["mention_keys"] = "Hermes, helper"
    assert await _mentions(mm, world.alice, world.town, "ask hermes!") == {world.bot.id}
    assert await _mentions(mm, world.bob, world.town, "Alice, look") == set()
    world.alice.notify_props["first_name"] = "true"
    assert await _mentions(mm, world.bob, world.town, "Alice, look") == {world.alice.id}
    assert await _mentions(mm, world.bob, world.town, "alice, look") == set(), (
        "first names are case-sensitive"
    )


async def test_direct_messages_mention_the_other_member_only(mm: MattermostEmulator, world: World) -> None:
    assert await _mentions(mm, world.alice, world.dm, "no at needed") == {world.bot.id}
    assert await _mentions(mm, world.bot, world.dm, "answer") == {world.alice.id}
    assert await _mentions(mm, world.alice, world.dm, "@bob is not here") == {world.bot.id}


async def test_group_messages_mention_every_other_member(mm: MattermostEmulator, world: World) -> None:
    group = mm.group_channel(world.alice, world.bob, world.bot)
    assert await _mentions(mm, world.alice, group, "hello all") == {world.bob.id, world.bot.id}


async def test_out_of_channel_users_are_not_mentioned(mm: MattermostEmulator, world: World) -> None:
    assert await _mentions(mm, world.alice, world.town, "@carol are you there") == set()


async def test_replies_do_not_mention_thread_participants_with_collapsed_threads(
    mm: MattermostEmulator, world: World
) -> None:
    world.bot.notify_props["comments"] = "any"
    root = await mm.post_as(world.bot, world.town, "root by the bot")
    reply = await mm.post_as(world.alice, world.town, "a reply", root_id=root.id)
    assert _mentioned(mm, reply.id) == set()


async def test_comments_setting_applies_without_collapsed_threads() -> None:
    async with MattermostEmulator(collapsed_threads=False) as mm:
        bot, _ = mm.create_bot("bot", notify_props={"comments": "root"})
        alice = mm.create_user("alice")
        bob = mm.create_user("bob", notify_props={"comments": "any"})
        team = mm.create_team("t", members=[bot, alice, bob])
        channel = mm.create_channel(team, "O", [bot, alice, bob])
        root = await mm.post_as(bot, channel, "root")
        await mm.post_as(bob, channel, "bob replies", root_id=root.id)
        reply = await mm.post_as(alice, channel, "alice replies", root_id=root.id)
        assert _mentioned(mm, reply.id) == {bot.id, bob.id}


def test_markdown_text_runs_leave_code_out() -> None:
    runs = list(markdown_text_runs("a `b` c\n\n```\nd\n```\ne *f* g"))
    assert runs == ["a ", " c", "e ", "f", " g"]
