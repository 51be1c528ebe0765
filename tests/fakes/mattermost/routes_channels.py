"""Users, teams, channels and memberships (api4/user.go, team.go, channel.go)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from .api import Api, Ctx, Reply
from .errors import AppError, forbidden, invalid_param, invalid_url_param
from .ids import is_valid_id
from .model import User
from .params import paging, path_id, path_user_id
from .state import Directory

_VALID_USERNAME = re.compile(r"^[a-z0-9.\-_]{1,64}$")


def _user_json(viewer: User, user: User) -> dict[str, Any]:
    return user.to_json(as_self=viewer.id == user.id)


def _own(ctx: Ctx, user_id: str) -> None:
    """`SessionHasPermissionToUser`: only oneself without edit_other_users."""
    if user_id != ctx.me.id:
        raise forbidden()


def _id_list(body: Any, name: str) -> list[str]:
    if not isinstance(body, list) or not body or not all(isinstance(item, str) for item in body):
        raise invalid_param(name)
    return body


def add_routes(router: web.UrlDispatcher, api: Api, directory: Directory) -> None:
    users = "/api/v4/users"
    channel_path = "/api/v4/channels/{channel_id:[A-Za-z0-9]+}"
    user_path = users + "/{user_id:[A-Za-z0-9]+}"

    async def get_user(ctx: Ctx) -> Reply:
        user = directory.get_user(path_user_id(ctx))
        return 200, _user_json(ctx.me, user)

    async def get_user_by_username(ctx: Ctx) -> Reply:
        username = ctx.request.match_info["username"]
        if not _VALID_USERNAME.match(username) or username in ("all", "channel", "matterbot", "system"):
            raise invalid_url_param("username")
        user = directory.user_by_username(username)
        if user is None:
            raise AppError("app.user.get_by_username.app_error", 404)
        return 200, _user_json(ctx.me, user)

    async def get_users_by_ids(ctx: Ctx) -> Reply:
        ids = _id_list(await ctx.json("user_ids"), "user_ids")
        return 200, [
            _user_json(ctx.me, directory.users[uid]) for uid in dict.fromkeys(ids) if uid in directory.users
        ]

    async def get_users_by_usernames(ctx: Ctx) -> Reply:
        names = _id_list(await ctx.json("usernames"), "usernames")
        found = (directory.user_by_username(name) for name in dict.fromkeys(names))
        return 200, [_user_json(ctx.me, user) for user in found if user is not None]

    async def get_teams_for_user(ctx: Ctx) -> Reply:
        user_id = path_user_id(ctx)
        _own(ctx, user_id)
        return 200, [team.to_json() for team in directory.teams_of(user_id)]

    async def get_team(ctx: Ctx) -> Reply:
        team_id = path_id(ctx, "team_id")
        team = directory.teams.get(team_id)
        if team is None or not directory.in_team(ctx.me.id, team_id):
            raise forbidden()
        return 200, team.to_json()

    async def get_channels_for_team_for_user(ctx: Ctx) -> Reply:
        user_id = path_user_id(ctx)
        team_id = path_id(ctx, "team_id")
        _own(ctx, user_id)
        if not directory.in_team(ctx.me.id, team_id):
            raise forbidden()
        return 200, [c.to_json() for c in directory.channels_of(user_id, team_id)]

    async def get_channels_for_user(ctx: Ctx) -> Reply:
        user_id = path_user_id(ctx)
        _own(ctx, user_id)
        return 200, [c.to_json() for c in directory.channels_of(user_id, None)]

    async def get_channel(ctx: Ctx) -> Reply:
        channel = directory.get_channel(path_id(ctx, "channel_id"))
        if not directory.can_read(ctx.me.id, channel):
            raise forbidden()
        return 200, channel.to_json()

    async def get_channel_members(ctx: Ctx) -> Reply:
        channel = directory.channels.get(path_id(ctx, "channel_id"))
        if channel is None or not directory.can_read(ctx.me.id, channel):
            raise forbidden()
        page, per_page = paging(ctx)
        members = list(channel.members.values())[page * per_page : (page + 1) * per_page]
        return 200, [m.to_json() for m in members]

    async def get_channel_member(ctx: Ctx) -> Reply:
        channel_id = path_id(ctx, "channel_id")
        user_id = path_user_id(ctx)
        channel = directory.channels.get(channel_id)
        if channel is None or not directory.can_read(ctx.me.id, channel):
            raise forbidden()
        member = channel.members.get(user_id)
        if member is None:
            raise AppError("app.channel.get_member.missing.app_error", 404)
        return 200, member.to_json()

    async def create_direct_channel(ctx: Ctx) -> Reply:
        ids = await ctx.json("user_ids")
        if not isinstance(ids, list) or len(ids) != 2:
            raise invalid_param("user_ids")
        if not all(is_valid_id(uid) for uid in ids):
            raise invalid_param("user_id")
        if ctx.me.id not in ids:
            raise forbidden()
        if not all(uid in directory.users for uid in ids):
            raise AppError("api.channel.create_direct_channel.invalid_user.app_error", 400)
        channel, _ = directory.direct_channel(directory.users[ids[0]], directory.users[ids[1]])
        return 201, channel.to_json()

    async def create_group_channel(ctx: Ctx) -> Reply:
        ids = await ctx.json("user_ids")
        if not isinstance(ids, list) or not all(is_valid_id(uid) for uid in ids):
            raise invalid_param("user_ids")
        ids = list(dict.fromkeys([*ids, ctx.me.id]))
        if not all(uid in directory.users for uid in ids):
            raise AppError("api.channel.create_group.bad_user.app_error", 400)
        channel, _ = directory.group_channel([directory.users[uid] for uid in ids], ctx.me)
        return 201, channel.to_json()

    async def publish_typing(ctx: Ctx) -> Reply:
        user_id = path_user_id(ctx)
        body = await ctx.json("typing_request")
        if not isinstance(body, dict):
            raise invalid_param("typing_request")
        _own(ctx, user_id)
        channel = directory.channels.get(body.get("channel_id") or "")
        if channel is None or not directory.is_member(user_id, channel):
            raise forbidden()
        parent_id = body.get("parent_id")
        directory.publish_typing(user_id, channel, parent_id if isinstance(parent_id, str) else "")
        return 200, {"status": "OK"}

    route = api.route
    router.add_get(user_path, route(get_user))
    router.add_get(users + r"/username/{username:[A-Za-z0-9_\-.]+}", route(get_user_by_username))
    router.add_post(users + "/ids", route(get_users_by_ids))
    router.add_post(users + "/usernames", route(get_users_by_usernames))
    router.add_get(user_path + "/teams", route(get_teams_for_user))
    router.add_get(
        user_path + "/teams/{team_id:[A-Za-z0-9]+}/channels", route(get_channels_for_team_for_user)
    )
    router.add_get(user_path + "/channels", route(get_channels_for_user))
    router.add_post(user_path + "/typing", route(publish_typing))
    router.add_get("/api/v4/teams/{team_id:[A-Za-z0-9]+}", route(get_team))
    router.add_post("/api/v4/channels/direct", route(create_direct_channel))
    router.add_post("/api/v4/channels/group", route(create_group_channel))
    router.add_get(channel_path, route(get_channel))
    router.add_get(channel_path + "/members", route(get_channel_members))
    router.add_get(channel_path + "/members/{user_id:[A-Za-z0-9]+}", route(get_channel_member))
