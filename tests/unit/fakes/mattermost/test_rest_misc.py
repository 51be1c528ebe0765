"""Ping, slash commands, typing and reactions."""

from __future__ import annotations

import json

import pytest

from tests.fakes.mattermost import KNOWN_DIFFERENCES, AppError

from .conftest import World
from .openapi import validate_response
from .support import Harness, assert_same_shape, fixture


async def test_ping_needs_no_session(h: Harness) -> None:
    reply = await h.rest(None).get("/api/v4/system/ping")
    assert reply.status == 200
    validate_response("get", "/api/v4/system/ping", 200, reply.json)
    assert reply.json["status"] == "OK"
    full = await h.rest(None).get("/api/v4/system/ping?get_server_status=true")
    assert full.json["database_status"] == full.json["filestore_status"] == "OK"


async def test_unknown_slash_command_is_404(h: Harness, world: World) -> None:
    body = {"command": "/sethome now", "channel_id": world.town.id, "team_id": world.team.id}
    reply = await h.rest(world.alice).post("/api/v4/commands/execute", json=body)
    assert reply.status == 404
    assert reply.json["id"] == "api.command.execute_command.not_found.app_error"
    assert reply.json["message"] == (
        "Command with a trigger of 'sethome' not found. To send a message beginning with \"/\", "
        "try adding an empty space at the beginning of the message."
    )
    assert h.mm.posts_in(world.town) == []


async def test_builtin_slash_commands_are_the_servers(h: Harness, world: World) -> None:
    body = {"command": "/Help", "channel_id": world.town.id}
    reply = await h.rest(world.alice).post("/api/v4/commands/execute", json=body)
    assert reply.status == 200
    assert "command-response-keys" in KNOWN_DIFFERENCES
    validate_response("post", "/api/v4/commands/execute", 200, reply.json)
    assert reply.json["response_type"] == "ephemeral"


async def test_slash_command_errors(h: Harness, world: World) -> None:
    client = h.rest(world.alice)
    no_slash = await client.post(
        "/api/v4/commands/execute", json={"command": "help", "channel_id": world.town.id}
    )
    assert (no_slash.status, no_slash.json["id"]) == (400, "api.command.execute_command.start.app_error")
    bad_channel = await client.post("/api/v4/commands/execute", json={"command": "/x", "channel_id": "nope"})
    assert bad_channel.status == 400
    outsider = await h.rest(world.carol).post(
        "/api/v4/commands/execute", json={"command": "/x", "channel_id": world.town.id}
    )
    assert outsider.status == 403


async def test_webapp_send_posts_an_unknown_command_as_a_message(h: Harness, world: World) -> None:
    posted = await h.mm.webapp_send(world.alice, world.town, "/sethome")
    assert posted is not None and posted.message == "/sethome"
    assert await h.mm.webapp_send(world.alice, world.town, "/away") is None
    assert [p.message for p in h.mm.posts_in(world.town)] == ["/sethome"]


async def test_typing_reaches_other_members_only(h: Harness, world: World) -> None:
    alice = await h.ready_socket(world.alice)
    bot = await h.ready_socket(world.bot)
    reply = await h.rest(world.bot).post(
        f"/api/v4/users/{world.bot.id}/typing", json={"channel_id": world.dm.id}
    )
    assert (reply.status, reply.json) == (200, fixture("rest_status_ok.json"))
    typing = await alice.event("typing")
    assert_same_shape(typing, fixture("ws_typing.json"))
    assert typing["data"] == {"parent_id": "", "user_id": world.bot.id}
    assert typing["broadcast"]["omit_users"] == {world.bot.id: True}
    ping = await bot.send("ping")
    assert (await bot.frame())["seq_reply"] == ping


async def test_typing_errors(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    as_someone_else = await client.post(
        f"/api/v4/users/{world.alice.id}/typing", json={"channel_id": world.dm.id}
    )
    assert as_someone_else.status == 403
    not_member = await h.rest(world.bob).post(
        "/api/v4/users/me/typing", json={"channel_id": world.private.id}
    )
    assert not_member.status == 403
    garbage = await client.post(
        "/api/v4/users/me/typing", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert (garbage.status, garbage.json["message"]) == (400, "Invalid typing_request parameter.")


async def test_reaction_is_200_and_broadcast(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    post = await h.mm.post_as(world.bot, world.town, "react")
    await socket.event("posted")
    body = {"user_id": world.alice.id, "post_id": post.id, "emoji_name": "thumbsup"}
    reply = await h.rest(world.alice).post("/api/v4/reactions", json=body)
    assert reply.status == 200
    assert "reaction-status" in KNOWN_DIFFERENCES
    validate_response("post", "/api/v4/reactions", 200, reply.json)
    assert (reply.json["emoji_name"], reply.json["channel_id"]) == ("thumbsup", world.town.id)
    event = await socket.event("reaction_added")
    assert_same_shape(event, fixture("ws_reaction_added.json"))
    assert json.loads(event["data"]["reaction"])["user_id"] == world.alice.id
    assert h.mm.get_post(post.id).has_reactions
    listed = await h.rest(world.bot).get(f"/api/v4/posts/{post.id}/reactions")
    assert [r["emoji_name"] for r in listed.json] == ["thumbsup"]
    assert (
        json.loads(json.dumps(h.mm.post_json(post)))["metadata"]["reactions"][0]["emoji_name"] == "thumbsup"
    )


async def test_reaction_errors(h: Harness, world: World) -> None:
    post = await h.mm.post_as(world.alice, world.town, "p")
    client = h.rest(world.bot)
    for_alice = await client.post(
        "/api/v4/reactions", json={"user_id": world.alice.id, "post_id": post.id, "emoji_name": "x"}
    )
    assert (for_alice.status, for_alice.json["id"]) == (403, "api.reaction.save_reaction.user_id.app_error")
    invalid = await client.post("/api/v4/reactions", json={"user_id": world.bot.id, "post_id": "short"})
    assert (invalid.status, invalid.json["id"]) == (400, "api.context.invalid_body_param.app_error")
    bad_name = await client.post(
        "/api/v4/reactions", json={"user_id": world.bot.id, "post_id": post.id, "emoji_name": "no spaces"}
    )
    assert bad_name.status == 400
    unknown = await client.post(
        "/api/v4/reactions", json={"user_id": world.bot.id, "post_id": "u" * 26, "emoji_name": "x"}
    )
    assert unknown.status == 403
    assert h.mm.reactions_on(post) == []


async def test_remove_reaction(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    post = await h.mm.post_as(world.alice, world.town, "p")
    await h.mm.react_as(world.bot, post, "tada")
    path = f"/api/v4/users/me/posts/{post.id}/reactions/tada"
    assert (await h.rest(world.bot).delete(path)).json == {"status": "OK"}
    removed = await socket.event("reaction_removed")
    assert json.loads(removed["data"]["reaction"])["emoji_name"] == "tada"
    assert not h.mm.get_post(post.id).has_reactions
    others = await h.rest(world.bot).delete(f"/api/v4/users/{world.alice.id}/posts/{post.id}/reactions/tada")
    assert others.status == 403


async def test_human_helpers_raise_app_errors(h: Harness, world: World) -> None:
    root = await h.mm.post_as(world.alice, world.town, "root")
    reply = await h.mm.post_as(world.bob, world.town, "reply", root_id=root.id)
    with pytest.raises(AppError) as raised:
        await h.mm.post_as(world.alice, world.town, "nested", root_id=reply.id)
    assert (raised.value.status, raised.value.id) == (400, "api.post.create_post.root_id.app_error")
