"""Channels, memberships, DMs and GMs (api4/channel.go)."""

from __future__ import annotations

import hashlib

from .conftest import World
from .openapi import validate_response
from .support import Harness


async def test_open_channel(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get(f"/api/v4/channels/{world.town.id}")
    assert reply.status == 200
    validate_response("get", "/api/v4/channels/{channel_id}", 200, reply.json)
    channel = reply.json
    assert (channel["type"], channel["name"], channel["display_name"]) == ("O", "town-square", "Town Square")
    assert channel["team_id"] == world.team.id


async def test_direct_channel_is_named_by_both_ids_and_has_no_display_name(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get(f"/api/v4/channels/{world.dm.id}")
    assert reply.status == 200
    first, second = sorted((world.alice.id, world.bot.id))
    assert reply.json["name"] == f"{first}__{second}"
    assert (reply.json["type"], reply.json["display_name"], reply.json["team_id"]) == ("D", "", "")


async def test_unknown_channel_is_404(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get("/api/v4/channels/" + "c" * 26)
    assert reply.status == 404
    assert reply.json["id"] == "app.channel.get.existing.app_error"


async def test_private_and_direct_channels_are_forbidden_to_non_members(h: Harness, world: World) -> None:
    bob = h.rest(world.bob)
    assert (await bob.get(f"/api/v4/channels/{world.private.id}")).status == 403
    assert (await bob.get(f"/api/v4/channels/{world.dm.id}")).status == 403


async def test_open_channel_is_readable_by_any_team_member(h: Harness, world: World) -> None:
    assert (await h.rest(world.carol).get(f"/api/v4/channels/{world.town.id}")).status == 200
    outsider = h.mm.create_user("eve")
    assert (await h.rest(outsider).get(f"/api/v4/channels/{world.town.id}")).status == 403


async def test_my_channels_in_a_team_include_direct_messages(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get(f"/api/v4/users/me/teams/{world.team.id}/channels")
    assert reply.status == 200
    validate_response("get", "/api/v4/users/{user_id}/teams/{team_id}/channels", 200, reply.json)
    assert {c["id"] for c in reply.json} == {world.town.id, world.private.id, world.dm.id}


async def test_channels_of_a_team_i_am_not_in_are_forbidden(h: Harness, world: World) -> None:
    other = h.mm.create_team("other", members=[world.alice])
    reply = await h.rest(world.bot).get(f"/api/v4/users/me/teams/{other.id}/channels")
    assert reply.status == 403


async def test_all_my_channels(h: Harness, world: World) -> None:
    reply = await h.rest(world.alice).get("/api/v4/users/me/channels")
    assert reply.status == 200
    validate_response("get", "/api/v4/users/{user_id}/channels", 200, reply.json)
    assert {c["id"] for c in reply.json} == {world.town.id, world.private.id, world.dm.id}


async def test_channel_members_and_paging(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    reply = await client.get(f"/api/v4/channels/{world.town.id}/members")
    assert reply.status == 200
    validate_response("get", "/api/v4/channels/{channel_id}/members", 200, reply.json)
    assert {m["user_id"] for m in reply.json} == {world.alice.id, world.bob.id, world.bot.id}
    page = await client.get(f"/api/v4/channels/{world.town.id}/members?page=1&per_page=2")
    assert len(page.json) == 1
    junk = await client.get(f"/api/v4/channels/{world.town.id}/members?page=x&per_page=-3")
    assert len(junk.json) == 3


async def test_one_channel_member(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    me = await client.get(f"/api/v4/channels/{world.town.id}/members/me")
    assert me.status == 200
    validate_response("get", "/api/v4/channels/{channel_id}/members/{user_id}", 200, me.json)
    assert me.json["notify_props"]["mark_unread"] == "all"
    missing = await client.get(f"/api/v4/channels/{world.town.id}/members/{world.carol.id}")
    assert (missing.status, missing.json["id"]) == (404, "app.channel.get_member.missing.app_error")
    private = await h.rest(world.bob).get(f"/api/v4/channels/{world.private.id}/members")
    assert private.status == 403


async def test_create_direct_channel_is_get_or_create(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    created = await client.post("/api/v4/channels/direct", json=[world.bot.id, world.bob.id])
    assert created.status == 201
    validate_response("post", "/api/v4/channels/direct", 201, created.json)
    again = await client.post("/api/v4/channels/direct", json=[world.bob.id, world.bot.id])
    assert again.status == 201
    assert again.json["id"] == created.json["id"]
    existing = await client.post("/api/v4/channels/direct", json=[world.alice.id, world.bot.id])
    assert existing.json["id"] == world.dm.id


async def test_create_direct_channel_errors(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    one = await client.post("/api/v4/channels/direct", json=[world.bot.id])
    assert (one.status, one.json["id"]) == (400, "api.context.invalid_param.app_error")
    bad = await client.post("/api/v4/channels/direct", json=[world.bot.id, "nope"])
    assert bad.status == 400
    others = await client.post("/api/v4/channels/direct", json=[world.alice.id, world.bob.id])
    assert others.status == 403
    ghost = await client.post("/api/v4/channels/direct", json=[world.bot.id, "g" * 26])
    assert ghost.status == 400
    assert ghost.json["id"] == "api.channel.create_direct_channel.invalid_user.app_error"
    garbage = await client.post("/api/v4/channels/direct", data=b"{not json")
    assert garbage.status == 400


async def test_create_direct_channel_tells_both_members(h: Harness, world: World) -> None:
    bob_socket = await h.ready_socket(world.bob)
    created = await h.rest(world.bot).post("/api/v4/channels/direct", json=[world.bot.id, world.bob.id])
    event = await bob_socket.event("direct_added")
    assert event["data"] == {"creator_id": world.bot.id, "teammate_id": world.bob.id}
    assert event["broadcast"]["channel_id"] == created.json["id"]


async def test_group_channel_adds_the_caller_and_is_named_by_sha1(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).post("/api/v4/channels/group", json=[world.alice.id, world.bob.id])
    assert reply.status == 201
    validate_response("post", "/api/v4/channels/group", 201, reply.json)
    ids = sorted((world.alice.id, world.bob.id, world.bot.id))
    assert reply.json["name"] == hashlib.sha1("".join(ids).encode()).hexdigest()
    assert reply.json["display_name"] == "agentbot, alice, bob"
    too_small = await h.rest(world.bot).post("/api/v4/channels/group", json=[world.alice.id])
    assert (too_small.status, too_small.json["id"]) == (400, "api.channel.create_group.bad_size.app_error")
