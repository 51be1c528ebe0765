"""GET /channels/{id}/posts: pages, cursors and `since` (api4/post.go getPostsForChannel)."""

from __future__ import annotations

from tests.fakes.mattermost import Post

from .conftest import World
from .openapi import validate_response
from .support import Harness


async def _five(h: Harness, world: World) -> list[Post]:
    return [await h.mm.post_as(world.alice, world.town, f"m{i}") for i in range(5)]


async def test_default_page_is_newest_first(h: Harness, world: World) -> None:
    posts = await _five(h, world)
    reply = await h.rest(world.bot).get(f"/api/v4/channels/{world.town.id}/posts")
    assert reply.status == 200
    validate_response("get", "/api/v4/channels/{channel_id}/posts", 200, reply.json)
    assert reply.json["order"] == [p.id for p in reversed(posts)]
    assert (reply.json["next_post_id"], reply.json["prev_post_id"]) == ("", "")


async def test_pages_link_to_their_neighbours(h: Harness, world: World) -> None:
    posts = await _five(h, world)
    client = h.rest(world.bot)
    second_page = (await client.get(f"/api/v4/channels/{world.town.id}/posts?page=1&per_page=2")).json
    assert second_page["order"] == [posts[2].id, posts[1].id]
    assert (second_page["next_post_id"], second_page["prev_post_id"]) == (posts[3].id, posts[0].id)
    capped = (await client.get(f"/api/v4/channels/{world.town.id}/posts?per_page=5000")).json
    assert len(capped["order"]) == 5


async def test_before_and_after_cursors(h: Harness, world: World) -> None:
    posts = await _five(h, world)
    client = h.rest(world.bot)
    before = (
        await client.get(f"/api/v4/channels/{world.town.id}/posts?before={posts[3].id}&per_page=2")
    ).json
    assert before["order"] == [posts[2].id, posts[1].id]
    assert (before["next_post_id"], before["prev_post_id"]) == (posts[3].id, posts[0].id)
    after = (await client.get(f"/api/v4/channels/{world.town.id}/posts?after={posts[1].id}&per_page=2")).json
    assert after["order"] == [posts[3].id, posts[2].id]
    assert (after["next_post_id"], after["prev_post_id"]) == (posts[4].id, posts[1].id)
    past_the_end = (await client.get(f"/api/v4/channels/{world.town.id}/posts?after={posts[4].id}")).json
    assert (past_the_end["order"], past_the_end["next_post_id"]) == ([], "")


async def test_replies_bring_their_thread_along(h: Harness, world: World) -> None:
    root = await h.mm.post_as(world.alice, world.town, "root")
    for i in range(3):
        await h.mm.post_as(world.bob, world.town, f"filler {i}")
    reply = await h.mm.post_as(world.bot, world.town, "reply", root_id=root.id)
    listing = (await h.rest(world.bot).get(f"/api/v4/channels/{world.town.id}/posts?per_page=1")).json
    assert listing["order"] == [reply.id]
    assert set(listing["posts"]) == {reply.id, root.id}


async def test_since_returns_changed_posts_with_their_roots(h: Harness, world: World) -> None:
    root = await h.mm.post_as(world.alice, world.town, "root")
    old = await h.mm.post_as(world.alice, world.town, "old")
    cursor = old.create_at
    reply = await h.mm.post_as(world.bob, world.town, "reply", root_id=root.id)
    listing = (await h.rest(world.bot).get(f"/api/v4/channels/{world.town.id}/posts?since={cursor}")).json
    # The reply moved its root's update_at: both come back, newest first; `old` did not change.
    assert listing["order"] == [reply.id, root.id]
    assert old.id not in listing["posts"]
    assert (listing["next_post_id"], listing["prev_post_id"]) == ("", "")


async def test_since_sees_reactions(h: Harness, world: World) -> None:
    post = await h.mm.post_as(world.alice, world.town, "react to me")
    cursor = post.update_at
    await h.mm.react_as(world.bob, post, "thumbsup")
    listing = (await h.rest(world.bot).get(f"/api/v4/channels/{world.town.id}/posts?since={cursor}")).json
    assert listing["order"] == [post.id]
    assert listing["posts"][post.id]["has_reactions"] is True


async def test_listing_errors(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    assert (await client.get(f"/api/v4/channels/{world.town.id}/posts?since=yesterday")).status == 400
    bad_cursor = await client.get(f"/api/v4/channels/{world.town.id}/posts?after=nope")
    assert (bad_cursor.status, bad_cursor.json["message"]) == (400, "Invalid after parameter.")
    assert (await client.get(f"/api/v4/channels/{world.town.id}/posts?include_deleted=true")).status == 403
    assert (await client.get("/api/v4/channels/" + "x" * 26 + "/posts")).status == 404
    assert (await h.rest(world.bob).get(f"/api/v4/channels/{world.private.id}/posts")).status == 403
    assert (await h.rest(world.carol).get(f"/api/v4/channels/{world.town.id}/posts")).status == 200
