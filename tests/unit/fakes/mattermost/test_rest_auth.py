"""Sessions, the headers every API answer carries, and the 404 route."""

from __future__ import annotations

import re

from tests.fakes.mattermost import MattermostEmulator

from .conftest import World
from .openapi import validate_response
from .support import Harness, assert_same_shape, fixture

ID = re.compile(r"^[a-z0-9]{26}$")


async def test_missing_token_is_401_with_the_session_expired_body(h: Harness, world: World) -> None:
    reply = await h.rest(None).get("/api/v4/users/me")
    assert reply.status == 401
    assert_same_shape(reply.json, fixture("rest_error_401.json"))
    assert reply.json["id"] == "api.context.session_expired.app_error"
    assert reply.json["request_id"] == reply.headers["X-Request-Id"]
    validate_response("get", "/api/v4/users/{user_id}", 401, reply.json)


async def test_unknown_token_is_401(h: Harness, world: World) -> None:
    reply = await h.rest(None).get("/api/v4/users/me", headers={"Authorization": "Bearer " + "x" * 26})
    assert reply.status == 401
    assert reply.json["message"] == "Invalid or expired session, please login again."


async def test_revoked_token_stops_working(h: Harness, mm: MattermostEmulator, world: World) -> None:
    client = h.rest(world.alice)
    assert (await client.get("/api/v4/users/me")).status == 200
    mm.revoke_token(world.alice)
    assert (await client.get("/api/v4/users/me")).status == 401


async def test_bearer_scheme_is_case_insensitive_and_token_scheme_works(h: Harness, world: World) -> None:
    token = h.mm.token_for(world.bot)
    anonymous = h.rest(None)
    for header in (f"bearer {token}", f"BEARER {token}", f"Token {token}"):
        reply = await anonymous.get("/api/v4/users/me", headers={"Authorization": header})
        assert reply.status == 200, header
        assert reply.json["id"] == world.bot.id


async def test_cookie_session_is_accepted(h: Harness, world: World) -> None:
    token = h.mm.token_for(world.alice)
    reply = await h.rest(None).get("/api/v4/users/me", headers={"Cookie": f"MMAUTHTOKEN={token}"})
    assert reply.status == 200
    assert reply.json["username"] == "alice"


async def test_access_token_in_the_query_is_refused_for_a_personal_token(h: Harness, world: World) -> None:
    token = h.mm.token_for(world.alice)
    reply = await h.rest(None).get(f"/api/v4/users/me?access_token={token}")
    assert reply.status == 401
    assert reply.json["id"] == "api.context.token_provided.app_error"


async def test_api_answers_carry_request_and_version_ids(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get("/api/v4/users/me")
    assert ID.match(reply.headers["X-Request-Id"])
    version, build, config_hash, licensed = reply.headers["X-Version-Id"].rsplit(".", 3)
    assert (version, build, licensed) == ("9.11.2", "0", "false")
    assert re.fullmatch(r"[0-9a-f]{32}", config_hash)
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["Expires"] == "0"
    posted = await h.rest(world.bot).post("/api/v4/posts", json={"channel_id": world.town.id, "message": "x"})
    assert "Expires" not in posted.headers


async def test_unknown_route_is_the_404_fixture_served_as_plain_text(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get("/api/v4/nope")
    assert reply.status == 404
    assert reply.json == fixture("rest_error_404_route.json")
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "X-Request-Id" not in reply.headers


async def test_wrong_method_on_a_known_path_is_the_404_route(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).delete("/api/v4/users/me")
    assert reply.status == 404
    assert reply.json["id"] == "api.context.404.app_error"
    assert "url='/api/v4/users/me'" in reply.json["detailed_error"]


async def test_unknown_route_is_404_even_without_a_session(h: Harness) -> None:
    reply = await h.rest(None).get("/api/v4/users/me/nothing-here")
    assert reply.status == 404
    assert reply.json["id"] == "api.context.404.app_error"


async def test_path_id_that_is_not_26_alphanumerics_is_400(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get("/api/v4/users/abc")
    assert reply.status == 400
    assert reply.json["id"] == "api.context.invalid_url_param.app_error"
    assert reply.json["message"] == "Invalid or missing user_id parameter in request URL."
    validate_response("get", "/api/v4/users/{user_id}", 400, reply.json)


async def test_every_request_is_recorded(h: Harness, mm: MattermostEmulator, world: World) -> None:
    await h.rest(world.bot).post("/api/v4/posts", json={"channel_id": world.town.id, "message": "hi"})
    await h.rest(None).get("/api/v4/users/me")
    posted, anonymous = mm.requests[-2:]
    assert (posted.method, posted.path, posted.status) == ("POST", "/api/v4/posts", 201)
    assert posted.user_id == world.bot.id
    assert posted.body == {"channel_id": world.town.id, "message": "hi"}
    assert (anonymous.status, anonymous.user_id) == (401, None)
