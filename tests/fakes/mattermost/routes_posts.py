"""Posts, threads, channel history and reactions (api4/post.go, api4/reaction.go)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import post_lists
from .api import Api, Ctx, Reply
from .errors import forbidden, invalid_param
from .ids import is_valid_id
from .params import paging, path_id, path_user_id
from .posts import PostStore
from .state import Directory

_STRING_FIELDS = ("channel_id", "message", "root_id", "pending_post_id", "type")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def _decoded_post(body: Any) -> dict[str, Any]:
    """What Go's decoder accepts into model.Post: wrong JSON types fail the whole body."""
    if not isinstance(body, dict):
        raise invalid_param("post")
    for key in _STRING_FIELDS:
        if body.get(key) is not None and not isinstance(body[key], str):
            raise invalid_param("post")
    file_ids = body.get("file_ids")
    if file_ids is not None and not (
        isinstance(file_ids, list) and all(isinstance(f, str) for f in file_ids)
    ):
        raise invalid_param("post")
    if body.get("props") is not None and not isinstance(body["props"], dict):
        raise invalid_param("post")
    return body


def _decoded_patch(body: Any) -> dict[str, Any]:
    """model.PostPatch: `props` is an object (the spec says string), `file_ids` is ignored."""
    if not isinstance(body, dict):
        raise invalid_param("post")
    kinds = {"message": str, "props": dict, "is_pinned": bool, "has_reactions": bool}
    for key, kind in kinds.items():
        if body.get(key) is not None and not isinstance(body[key], kind):
            raise invalid_param("post")
    return body


def add_routes(router: web.UrlDispatcher, api: Api, directory: Directory, posts: PostStore) -> None:
    post_path = "/api/v4/posts/{post_id:[A-Za-z0-9]+}"

    async def create_post(ctx: Ctx) -> Reply:
        body = _decoded_post(await ctx.json("post"))
        if (body.get("type") or "").startswith("system_"):
            raise invalid_param("post.type")
        set_online = ctx.request.query.get("set_online", "")
        post, echoed = posts.submit(
            ctx.me,
            body.get("channel_id") or "",
            body.get("message") or "",
            root_id=body.get("root_id") or "",
            file_ids=body.get("file_ids") or (),
            props=body.get("props"),
            pending_post_id=body.get("pending_post_id") or "",
            set_online=set_online not in _GO_FALSE,
            post_type=body.get("type") or "",
        )
        return 201, posts.wire(post, pending_post_id=echoed)

    async def get_post(ctx: Ctx) -> Reply:
        return 200, posts.wire(posts.readable(ctx.me, path_id(ctx, "post_id")))

    async def delete_post(ctx: Ctx) -> Reply:
        posts.delete(ctx.me, path_id(ctx, "post_id"))
        return 200, {"status": "OK"}

    async def patch_post(ctx: Ctx) -> Reply:
        post_id = path_id(ctx, "post_id")
        patch = _decoded_patch(await ctx.json("post"))
        return 200, posts.wire(posts.patch(ctx.me, post_id, patch))

    async def get_thread(ctx: Ctx) -> Reply:
        return 200, post_lists.thread(posts, ctx.me, path_id(ctx, "post_id"))

    async def get_channel_posts(ctx: Ctx) -> Reply:
        channel_id = path_id(ctx, "channel_id")
        query = ctx.request.query
        after, before = query.get("after", ""), query.get("before", "")
        for name, value in (("after", after), ("before", before)):
            if value and not is_valid_id(value):
                raise invalid_param(name)
        since = 0
        if query.get("since"):
            try:
                since = int(query["since"])
            except ValueError:
                raise invalid_param("since") from None
        if query.get("include_deleted", "") in _GO_TRUE:
            raise forbidden()
        channel = directory.get_channel(channel_id)
        page, per_page = paging(ctx)
        listing = post_lists.channel_page(
            posts, ctx.me, channel, since=since, before=before, after=after, page=page, per_page=per_page
        )
        return 200, listing

    async def save_reaction(ctx: Ctx) -> Reply:
        body = await ctx.json("reaction")
        if not isinstance(body, dict) or any(
            body.get(k) is not None and not isinstance(body[k], str)
            for k in ("user_id", "post_id", "emoji_name")
        ):
            raise invalid_param("reaction")
        reaction = posts.react(ctx.me, body.get("user_id"), body.get("post_id"), body.get("emoji_name"))
        return 200, reaction.to_json()

    async def delete_reaction(ctx: Ctx) -> Reply:
        user_id = path_user_id(ctx)
        post_id = path_id(ctx, "post_id")
        posts.unreact(ctx.me, user_id, post_id, ctx.request.match_info["emoji_name"])
        return 200, {"status": "OK"}

    async def get_reactions(ctx: Ctx) -> Reply:
        post = posts.readable(ctx.me, path_id(ctx, "post_id"))
        return 200, [r.to_json() for r in posts.reactions.get(post.id, {}).values()]

    route = api.route
    router.add_post("/api/v4/posts", route(create_post))
    router.add_get(post_path, route(get_post))
    router.add_delete(post_path, route(delete_post))
    router.add_put(post_path + "/patch", route(patch_post))
    router.add_get(post_path + "/thread", route(get_thread))
    router.add_get(post_path + "/reactions", route(get_reactions))
    router.add_get("/api/v4/channels/{channel_id:[A-Za-z0-9]+}/posts", route(get_channel_posts))
    router.add_post("/api/v4/reactions", route(save_reaction))
    router.add_delete(
        "/api/v4/users/{user_id:[A-Za-z0-9]+}/posts/{post_id:[A-Za-z0-9]+}/reactions/{emoji_name:[A-Za-z0-9_\\-+]+}",
        route(delete_reaction),
    )
