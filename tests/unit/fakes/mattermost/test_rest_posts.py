"""Creating, reading, editing and deleting posts (api4/post.go, app/post.go)."""

from __future__ import annotations

import asyncio
import json

from tests.fakes.mattermost import MattermostEmulator

from .conftest import World
from .openapi import validate_response
from .support import Harness, assert_same_shape, fixture


async def test_create_post_is_201_with_the_bot_prop(h: Harness, world: World) -> None:
    body = {"channel_id": world.town.id, "message": "hello", "pending_post_id": "p1"}
    reply = await h.rest(world.bot).post("/api/v4/posts", json=body)
    assert reply.status == 201
    validate_response("post", "/api/v4/posts", 201, reply.json)
    post = reply.json
    assert (post["user_id"], post["message"], post["props"], post["pending_post_id"]) == (
        world.bot.id,
        "hello",
        {"from_bot": "true"},
        "p1",
    )
    assert "file_ids" not in post and post["metadata"] == {}
    assert h.mm.posts_in(world.town)[-1].id == post["id"]


async def test_human_posts_have_no_bot_prop_and_user_id_is_the_session(h: Harness, world: World) -> None:
    body = {"channel_id": world.town.id, "message": "hi", "user_id": world.bot.id, "create_at": 5}
    reply = await h.rest(world.alice).post("/api/v4/posts", json=body)
    assert reply.status == 201
    assert reply.json["user_id"] == world.alice.id and reply.json["props"] == {}
    assert reply.json["create_at"] > 5


async def test_reply_to_a_reply_is_rejected(h: Harness, world: World) -> None:
    root = await h.mm.post_as(world.alice, world.town, "root")
    reply = await h.mm.post_as(world.bob, world.town, "first reply", root_id=root.id)
    answer = await h.rest(world.bot).post(
        "/api/v4/posts", json={"channel_id": world.town.id, "message": "x", "root_id": reply.id}
    )
    assert answer.status == 400
    assert answer.json["id"] == "api.post.create_post.root_id.app_error"
    assert answer.json["message"] == "Invalid RootId parameter."
    validate_response("post", "/api/v4/posts", 400, answer.json)
    assert [p.message for p in h.mm.posts_in(world.town)] == ["root", "first reply"]


async def test_unknown_root_is_rejected_and_root_from_another_channel_too(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    unknown = await client.post(
        "/api/v4/posts", json={"channel_id": world.town.id, "message": "x", "root_id": "zz"}
    )
    assert (unknown.status, unknown.json["id"]) == (400, "api.post.create_post.root_id.app_error")
    elsewhere = await h.mm.post_as(world.alice, world.dm, "in the dm")
    crossed = await client.post(
        "/api/v4/posts", json={"channel_id": world.town.id, "message": "x", "root_id": elsewhere.id}
    )
    assert (crossed.status, crossed.json["id"]) == (400, "api.post.create_post.channel_root_id.app_error")


async def test_message_limit_is_16383_runes(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    fits = await client.post("/api/v4/posts", json={"channel_id": world.town.id, "message": "a" * 16383})
    assert fits.status == 201
    emoji = await client.post("/api/v4/posts", json={"channel_id": world.town.id, "message": "😀" * 16383})
    assert emoji.status == 201
    too_long = await client.post("/api/v4/posts", json={"channel_id": world.town.id, "message": "a" * 16384})
    assert too_long.status == 400
    assert (too_long.json["id"], too_long.json["message"]) == (
        "model.post.is_valid.msg.app_error",
        "Invalid message.",
    )
    assert len(h.mm.posts_in(world.town)) == 2


async def test_posting_needs_membership_except_in_open_channels_of_ones_team(
    h: Harness, world: World
) -> None:
    private = await h.rest(world.bob).post(
        "/api/v4/posts", json={"channel_id": world.private.id, "message": "x"}
    )
    assert (private.status, private.json["id"]) == (403, "api.context.permissions.app_error")
    unknown = await h.rest(world.bob).post("/api/v4/posts", json={"channel_id": "u" * 26, "message": "x"})
    assert unknown.status == 403
    public = await h.rest(world.carol).post(
        "/api/v4/posts", json={"channel_id": world.town.id, "message": "x"}
    )
    assert public.status == 201


async def test_malformed_bodies_are_400_and_store_nothing(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    for body in (b"{nope", b"[]", json.dumps({"channel_id": world.town.id, "message": 5}).encode()):
        reply = await client.post("/api/v4/posts", data=body, headers={"Content-Type": "application/json"})
        assert (reply.status, reply.json["id"]) == (400, "api.context.invalid_param.app_error"), body
    system = await client.post(
        "/api/v4/posts", json={"channel_id": world.town.id, "message": "x", "type": "system_join_channel"}
    )
    assert system.status == 400 and system.json["message"] == "Invalid post.type parameter."
    assert h.mm.posts_in(world.town) == []


async def test_pending_post_id_makes_a_retry_return_the_same_post(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    client = h.rest(world.bot)
    body = {"channel_id": world.town.id, "message": "once", "pending_post_id": "retry-1"}
    first, second = (
        await client.post("/api/v4/posts", json=body),
        await client.post("/api/v4/posts", json=body),
    )
    assert (first.status, second.status) == (201, 201)
    assert first.json["id"] == second.json["id"]
    assert [p.message for p in h.mm.posts_in(world.town)] == ["once"]
    await h.mm.post_as(world.alice, world.town, "marker")
    assert json.loads((await socket.event("posted"))["data"]["post"])["message"] == "once"
    assert json.loads((await socket.event("posted"))["data"]["post"])["message"] == "marker"


async def test_pending_post_id_is_echoed_by_the_creation_only(h: Harness, world: World) -> None:
    """The Posts table has no PendingPostId column (sqlstore postSliceColumns): the create response and the
    `posted` event carry the client's id, every read of the stored post (a deduplicated retry included) has
    it empty."""
    socket = await h.ready_socket(world.bot)
    client = h.rest(world.bot)
    body = {"channel_id": world.town.id, "message": "once", "pending_post_id": "echo-1"}
    created = await client.post("/api/v4/posts", json=body)
    retried = await client.post("/api/v4/posts", json=body)
    event = json.loads((await socket.event("posted"))["data"]["post"])
    post_id = created.json["id"]
    read = await client.get(f"/api/v4/posts/{post_id}")
    listing = await client.get(f"/api/v4/channels/{world.town.id}/posts")
    thread = await client.get(f"/api/v4/posts/{post_id}/thread")
    assert (created.json["pending_post_id"], event["pending_post_id"]) == ("echo-1", "echo-1")
    assert retried.json["id"] == post_id and retried.json["pending_post_id"] == ""
    assert read.json["pending_post_id"] == ""
    assert listing.json["posts"][post_id]["pending_post_id"] == ""
    assert thread.json["posts"][post_id]["pending_post_id"] == ""


async def test_pending_post_id_is_forgotten_after_its_window() -> None:
    async with MattermostEmulator(pending_post_ttl=0.02) as mm:
        bot, _ = mm.create_bot("b")
        team = mm.create_team("t", members=[bot])
        channel = mm.create_channel(team, "O", [bot])
        first = await mm.post_as(bot, channel, "x", pending_post_id="p")
        assert (await mm.post_as(bot, channel, "x", pending_post_id="p")).id == first.id
        await asyncio.sleep(0.05)
        assert (await mm.post_as(bot, channel, "x", pending_post_id="p")).id != first.id


async def test_a_failed_post_does_not_claim_its_pending_post_id(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    too_long = {"channel_id": world.town.id, "message": "a" * 20000, "pending_post_id": "p9"}
    assert (await client.post("/api/v4/posts", json=too_long)).status == 400
    good = await client.post("/api/v4/posts", json={**too_long, "message": "short"})
    assert good.status == 201 and good.json["message"] == "short"


async def test_get_post(h: Harness, world: World) -> None:
    post = await h.mm.post_as(world.alice, world.private, "secret")
    reply = await h.rest(world.bot).get(f"/api/v4/posts/{post.id}")
    assert reply.status == 200
    validate_response("get", "/api/v4/posts/{post_id}", 200, reply.json)
    assert reply.json["message"] == "secret"
    assert (await h.rest(world.bob).get(f"/api/v4/posts/{post.id}")).status == 403
    missing = await h.rest(world.bot).get("/api/v4/posts/" + "m" * 26)
    assert (missing.status, missing.json["id"]) == (404, "app.post.get.app_error")


async def test_patch_own_post_edits_and_broadcasts(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.alice)
    created = await h.rest(world.bot).post(
        "/api/v4/posts", json={"channel_id": world.town.id, "message": "draft"}
    )
    patched = await h.rest(world.bot).put(
        f"/api/v4/posts/{created.json['id']}/patch", json={"message": "final"}
    )
    assert patched.status == 200
    validate_response("put", "/api/v4/posts/{post_id}/patch", 200, patched.json)
    assert patched.json["message"] == "final"
    assert patched.json["edit_at"] >= created.json["create_at"] and patched.json["edit_at"] > 0
    edited = await socket.event("post_edited")
    assert_same_shape(edited, fixture("ws_post_edited.json"))
    assert json.loads(edited["data"]["post"])["message"] == "final"
    assert edited["broadcast"]["channel_id"] == world.town.id


async def test_patch_of_an_unknown_post_is_403_not_404(h: Harness, world: World) -> None:
    reply = await h.rest(world.bot).put("/api/v4/posts/" + "q" * 26 + "/patch", json={"message": "x"})
    assert (reply.status, reply.json["id"]) == (403, "api.context.permissions.app_error")


async def test_patch_of_someone_elses_post_is_403(h: Harness, world: World) -> None:
    post = await h.mm.post_as(world.alice, world.town, "mine")
    reply = await h.rest(world.bot).put(f"/api/v4/posts/{post.id}/patch", json={"message": "yours"})
    assert reply.status == 403
    assert h.mm.get_post(post.id).message == "mine"


async def test_patch_body_rules(h: Harness, world: World) -> None:
    client = h.rest(world.bot)
    post = (await client.post("/api/v4/posts", json={"channel_id": world.town.id, "message": "m"})).json
    path = f"/api/v4/posts/{post['id']}/patch"
    as_string = await client.put(path, json={"props": '{"a": 1}'})
    assert (as_string.status, as_string.json["id"]) == (400, "api.context.invalid_param.app_error")
    too_long = await client.put(path, json={"message": "b" * 16384})
    assert too_long.status == 400 and h.mm.get_post(post["id"]).message == "m"
    ignored = await client.put(path, json={"file_ids": ["f" * 26], "is_pinned": True})
    assert ignored.status == 200
    assert (
        "file_ids" not in ignored.json and ignored.json["is_pinned"] is True and ignored.json["edit_at"] == 0
    )
    props = await client.put(path, json={"props": {"k": "v"}})
    assert props.json["props"] == {"k": "v"}


async def test_edits_leave_history_rows_that_since_returns(h: Harness, world: World) -> None:
    post = await h.mm.post_as(world.bot, world.town, "v1")
    since = post.create_at
    await h.mm.edit_as(world.bot, post, "v2")
    listing = (await h.rest(world.bot).get(f"/api/v4/channels/{world.town.id}/posts?since={since}")).json
    validate_response("get", "/api/v4/channels/{channel_id}/posts", 200, listing)
    history = [p for p in listing["posts"].values() if p["original_id"] == post.id]
    assert len(history) == 1 and history[0]["delete_at"] > 0 and history[0]["message"] == "v1"
    assert listing["posts"][post.id]["message"] == "v2"
    assert [p.message for p in h.mm.posts_in(world.town)] == ["v2"]


async def test_delete_own_post(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.alice)
    post = await h.mm.post_as(world.bot, world.town, "oops")
    client = h.rest(world.bot)
    assert (await client.delete(f"/api/v4/posts/{post.id}")).json == {"status": "OK"}
    deleted = await socket.event("post_deleted")
    assert json.loads(deleted["data"]["post"])["delete_at"] > 0
    assert (await client.get(f"/api/v4/posts/{post.id}")).status == 404
    someone_elses = await h.mm.post_as(world.alice, world.town, "keep")
    assert (await client.delete(f"/api/v4/posts/{someone_elses.id}")).status == 403


async def test_thread_puts_the_requested_post_first(h: Harness, world: World) -> None:
    root = await h.mm.post_as(world.alice, world.town, "@agentbot summarize this")
    first = await h.mm.post_as(world.bot, world.town, "working on it", root_id=root.id)
    second = await h.mm.post_as(world.alice, world.town, "thanks", root_id=root.id)
    client = h.rest(world.bot)
    by_root = await client.get(f"/api/v4/posts/{root.id}/thread")
    assert by_root.status == 200
    validate_response("get", "/api/v4/posts/{post_id}/thread", 200, by_root.json)
    assert_same_shape(by_root.json, fixture("rest_thread_postlist.json"))
    assert by_root.json["order"] == [root.id, first.id, second.id]
    assert {p["reply_count"] for p in by_root.json["posts"].values()} == {2}
    by_reply = await client.get(f"/api/v4/posts/{second.id}/thread")
    assert by_reply.json["order"] == [second.id, root.id, first.id]


async def test_thread_errors(h: Harness, world: World) -> None:
    missing = await h.rest(world.bot).get("/api/v4/posts/" + "t" * 26 + "/thread")
    assert missing.status == 404
    post = await h.mm.post_as(world.alice, world.private, "p")
    assert (await h.rest(world.bob).get(f"/api/v4/posts/{post.id}/thread")).status == 403
