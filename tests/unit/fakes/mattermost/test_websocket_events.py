"""Events: who receives them and what they look like (app/notification.go, web_conn.go ShouldSendEvent)."""

from __future__ import annotations

import json

from .conftest import World
from .support import Harness, assert_same_shape, fixture


def _post(event: dict) -> dict:
    return json.loads(event["data"]["post"])


async def test_dm_to_the_bot_matches_the_fixture(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    post = await h.mm.post_as(world.alice, world.dm, "hello bot")
    event = await socket.event("posted")
    assert_same_shape(event, fixture("ws_posted_dm_to_bot.json"))
    assert event["data"]["mentions"] == json.dumps([world.bot.id], separators=(",", ":"))
    assert (event["data"]["channel_display_name"], event["data"]["sender_name"]) == ("@alice", "@alice")
    assert (event["data"]["channel_type"], event["data"]["team_id"]) == ("D", "")
    assert _post(event) == h.mm.post_json(post)


async def test_channel_mention_matches_the_fixture(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    await h.mm.post_as(world.alice, world.town, "@agentbot summarize this")
    event = await socket.event("posted")
    assert_same_shape(event, fixture("ws_posted_channel_mention.json"))
    assert (event["data"]["channel_display_name"], event["data"]["channel_name"]) == (
        "Town Square",
        "town-square",
    )
    assert event["data"]["team_id"] == world.team.id


async def test_the_bot_receives_its_own_reply_without_mentions(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    root = await h.mm.post_as(world.alice, world.town, "@agentbot summarize this")
    await socket.event("posted")
    created = await h.rest(world.bot).post(
        "/api/v4/posts", json={"channel_id": world.town.id, "message": "working on it", "root_id": root.id}
    )
    event = await socket.event("posted")
    assert_same_shape(event, fixture("ws_posted_bot_own_reply_in_thread.json"))
    assert _post(event)["id"] == created.json["id"]
    assert event["data"]["sender_name"] == "@agentbot"


async def test_only_channel_members_receive_posts(h: Harness, world: World) -> None:
    bob = await h.ready_socket(world.bob)
    carol = await h.ready_socket(world.carol)
    await h.mm.post_as(world.alice, world.private, "members only")
    await h.mm.post_as(world.alice, world.town, "everyone here")
    assert _post(await bob.event("posted"))["message"] == "everyone here"
    await h.mm.post_as(world.carol, world.town, "carol speaks in an open channel")
    ping = await carol.send("ping")
    assert (await carol.frame())["seq_reply"] == ping, "non-members, the sender included, get nothing"


async def test_mentions_are_per_receiver(h: Harness, world: World) -> None:
    alice = await h.ready_socket(world.alice)
    bob = await h.ready_socket(world.bob)
    bot = await h.ready_socket(world.bot)
    await h.mm.post_as(world.alice, world.town, "hey @bob, look")
    assert json.loads((await bob.event("posted"))["data"]["mentions"]) == [world.bob.id]
    assert "mentions" not in (await bot.event("posted"))["data"]
    assert "mentions" not in (await alice.event("posted"))["data"], "the sender is never mentioned"


async def test_thread_followers_hear_replies(h: Harness, world: World) -> None:
    bot = await h.ready_socket(world.bot)
    root = await h.mm.post_as(world.alice, world.town, "@agentbot start")
    await bot.event("posted")
    await h.mm.post_as(world.bot, world.town, "on it", root_id=root.id)
    await bot.event("posted")
    await h.mm.post_as(world.alice, world.town, "and also this", root_id=root.id)
    reply = await bot.event("posted")
    assert json.loads(reply["data"]["followers"]) == [world.bot.id]
    assert "mentions" not in reply["data"]


async def test_edits_and_reactions_reach_members(h: Harness, world: World) -> None:
    bob = await h.ready_socket(world.bob)
    post = await h.mm.post_as(world.alice, world.town, "v1")
    await bob.event("posted")
    await h.mm.edit_as(world.alice, post, "v2")
    assert _post(await bob.event("post_edited"))["message"] == "v2"
    await h.mm.react_as(world.alice, post, "smile")
    reaction = await bob.event("reaction_added")
    assert json.loads(reaction["data"]["reaction"])["emoji_name"] == "smile"


async def test_adding_a_member_is_a_system_post_that_mentions_them(h: Harness, world: World) -> None:
    bot = await h.ready_socket(world.bot)
    channel = h.mm.create_channel(world.team, "O", [world.alice], name="later")
    await h.mm.post_as(world.alice, channel, "before the bot joined")
    h.mm.add_member(channel, world.bot, by=world.alice)
    added = await bot.event("user_added")
    assert added["data"] == {"team_id": world.team.id, "user_id": world.bot.id}
    system = await bot.event("posted")
    post = _post(system)
    assert (post["type"], post["message"]) == (
        "system_add_to_channel",
        "agentbot added to the channel by alice.",
    )
    assert post["props"]["addedUserId"] == world.bot.id
    assert json.loads(system["data"]["mentions"]) == [world.bot.id]
    h.mm.remove_member(channel, world.bot, by=world.alice)
    removed = await bot.event("user_removed")
    assert removed["data"] == {"channel_id": channel.id, "remover_id": world.alice.id}
    assert removed["broadcast"]["user_id"] == world.bot.id


async def test_joining_by_oneself_is_a_join_post(h: Harness, world: World) -> None:
    post = h.mm.add_member(world.town, world.carol)
    assert (post.type, post.message, post.user_id) == (
        "system_join_channel",
        "carol joined the channel.",
        world.carol.id,
    )
    left = h.mm.remove_member(world.town, world.carol)
    assert (left.type, left.message) == ("system_leave_channel", "carol left the channel.")


async def test_raw_events_for_tolerance_tests(h: Harness, world: World) -> None:
    bot = await h.ready_socket(world.bot)
    h.mm.publish_raw("channel_viewed", {"channel_id": world.town.id}, user=world.bot)
    event = await bot.event("channel_viewed")
    assert event["broadcast"]["user_id"] == world.bot.id
