"""Users and teams (api4/user.go, api4/team.go)."""

from __future__ import annotations

from .conftest import World
from .openapi import validate_response
from .support import Harness


async def test_me_is_the_bot_with_its_private_fields(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get("/api/v4/users/me")
    assert reply.status == 200
    me = reply.json
    validate_response("get", "/api/v4/users/{user_id}", 200, me)
    assert (me["id"], me["username"], me["is_bot"], me["bot_description"]) == (
        world.bot.id,
        "agentbot",
        True,
        "the agent",
    )
    assert me["notify_props"]["channel"] == "true"
    assert me["timezone"] == {"automaticTimezone": "", "manualTimezone": "", "useAutomaticTimezone": "true"}
    assert me["auth_data"] == "" and "password" not in me


async def test_another_user_is_sanitized(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get(f"/api/v4/users/{world.alice.id}")
    assert reply.status == 200
    validate_response("get", "/api/v4/users/{user_id}", 200, reply.json)
    assert reply.json["username"] == "alice"
    assert reply.json["first_name"] == "Alice"
    assert "notify_props" not in reply.json and "is_bot" not in reply.json


async def test_unknown_user_is_404(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get("/api/v4/users/" + "a" * 26)
    assert reply.status == 404
    assert reply.json["id"] == "app.user.missing_account.const"
    validate_response("get", "/api/v4/users/{user_id}", 404, reply.json)


async def test_user_by_username(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    found = await client.get("/api/v4/users/username/alice")
    assert found.status == 200 and found.json["id"] == world.alice.id
    validate_response("get", "/api/v4/users/username/{username}", 200, found.json)
    missing = await client.get("/api/v4/users/username/nobody")
    assert (missing.status, missing.json["id"]) == (404, "app.user.get_by_username.app_error")
    upper = await client.get("/api/v4/users/username/Alice")
    assert (upper.status, upper.json["id"]) == (400, "api.context.invalid_url_param.app_error")


async def test_users_by_ids_skips_unknown_ids(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).post("/api/v4/users/ids", json=[world.alice.id, "b" * 26, world.bob.id])
    assert reply.status == 200
    assert [u["username"] for u in reply.json] == ["alice", "bob"]
    bad = await h.rest(world.bot).post("/api/v4/users/ids", json=[])
    assert (bad.status, bad.json["id"]) == (400, "api.context.invalid_param.app_error")


async def test_users_by_usernames(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).post("/api/v4/users/usernames", json=["bob", "ghost"])
    assert reply.status == 200
    assert [u["id"] for u in reply.json] == [world.bob.id]


async def test_my_teams(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get("/api/v4/users/me/teams")
    assert reply.status == 200
    validate_response("get", "/api/v4/users/{user_id}/teams", 200, reply.json)
    assert [t["name"] for t in reply.json] == ["core"]
    assert reply.json[0]["email"] == "" and reply.json[0]["invite_id"] == ""


async def test_someone_elses_teams_are_forbidden(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get(f"/api/v4/users/{world.alice.id}/teams")
    assert reply.status == 403
    assert reply.json["id"] == "api.context.permissions.app_error"


async def test_get_team_needs_membership(h: Harness, world: World) -> None:
    outsider = h.mm.create_user("dave")
    assert (await h.rest(world.bot).get(f"/api/v4/teams/{world.team.id}")).status == 200
    assert (await h.rest(outsider).get(f"/api/v4/teams/{world.team.id}")).status == 403
