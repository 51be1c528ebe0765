"""The optional rate limiter and forced 429s (app/ratelimit.go over throttled's GCRA)."""

from __future__ import annotations

from tests.fakes.mattermost import KNOWN_DIFFERENCES
from tests.fakes.mattermost.ratelimit import Gcra

from .conftest import World
from .support import Harness


async def test_limiter_is_off_by_default(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).get("/api/v4/users/me")
    assert not any(name.lower().startswith("x-ratelimit") for name in reply.headers)


async def test_limited_requests_get_plain_text_429(h: Harness, world: World) -> None:
    h.mm.rate_limit(per_second=1, burst=2)
    client = h.rest(world.bot)
    replies = [await client.get("/api/v4/users/me") for _ in range(4)]
    assert [r.status for r in replies] == [200, 200, 200, 429]
    assert [r.headers["X-Ratelimit-Limit"] for r in replies] == ["3"] * 4
    assert [r.headers["X-Ratelimit-Remaining"] for r in replies] == ["2", "1", "0", "0"]
    limited = replies[-1]
    assert "ratelimit-body" in KNOWN_DIFFERENCES
    assert limited.text == "limit exceeded\n"
    assert limited.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "ratelimit-reset" in KNOWN_DIFFERENCES
    assert int(limited.headers["Retry-After"]) == 1 and int(limited.headers["X-Ratelimit-Reset"]) >= 1
    assert "Retry-After" not in replies[0].headers
    h.mm.rate_limit(None)
    assert (await client.get("/api/v4/users/me")).status == 200


async def test_limiter_covers_unknown_routes_and_unauthenticated_calls(h: Harness) -> None:
    h.mm.rate_limit(per_second=1, burst=0)
    anonymous = h.rest(None)
    assert (await anonymous.get("/api/v4/nope")).status == 404
    assert (await anonymous.get("/api/v4/system/ping")).status == 429


async def test_forced_429s_then_normal_service(h: Harness, world: World) -> None:
    h.mm.force_429(2)
    client = h.rest(world.bot)
    statuses = [(await client.get("/api/v4/users/me")).status for _ in range(3)]
    assert statuses == [429, 429, 200]


async def test_forced_429s_can_target_a_path(h: Harness, world: World) -> None:
    h.mm.force_429(1, path_prefix="/api/v4/posts")
    client = h.rest(world.bot)
    assert (await client.get("/api/v4/users/me")).status == 200
    limited = await client.post("/api/v4/posts", json={"channel_id": world.town.id, "message": "x"})
    assert (limited.status, limited.headers["Retry-After"]) == (429, "1")
    assert h.mm.posts_in(world.town) == []
    assert (
        await client.post("/api/v4/posts", json={"channel_id": world.town.id, "message": "x"})
    ).status == 201


def test_gcra_arithmetic_matches_throttled() -> None:
    now = [0]
    gcra = Gcra(10, 100, clock=lambda: now[0])
    first = gcra.check("ip")
    assert first.headers == {
        "X-Ratelimit-Limit": "101",
        "X-Ratelimit-Remaining": "100",
        "X-Ratelimit-Reset": "1",
    }
    for _ in range(100):
        assert not gcra.check("ip").limited
    refused = gcra.check("ip")
    assert refused.limited
    assert refused.headers == {
        "X-Ratelimit-Limit": "101",
        "X-Ratelimit-Remaining": "0",
        "X-Ratelimit-Reset": "11",
        "Retry-After": "1",
    }
    assert not gcra.check("another-ip").limited
    now[0] = 10**8  # one emission interval later, one request fits again
    assert not gcra.check("ip").limited
