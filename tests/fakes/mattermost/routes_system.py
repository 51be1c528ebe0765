"""`/system/ping` and `/commands/execute` (api4/system.go, api4/command.go, app/command.go)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .api import Api, Ctx, Reply
from .errors import AppError, forbidden, invalid_param
from .ids import is_valid_id
from .state import Directory

# Triggers the server runs itself (app/slashcommands). Recognised, answered, but not acted upon here:
# the point is that they never reach a bot, and that every other trigger is a 404.
BUILTIN_COMMANDS = frozenset(
    {
        "away", "code", "collapse", "dnd", "echo", "expand", "groupmsg", "header", "help", "invite",
        "invite_people", "join", "kick", "leave", "logout", "me", "msg", "mute", "offline", "online", "open",
        "purpose", "remove", "rename", "search", "settings", "shortcuts", "shrug", "status",
    }
)  # fmt: skip


def command_response() -> dict[str, Any]:
    """model.CommandResponse as the server encodes it (snake_case, unlike the spec's schema)."""
    return {
        "response_type": "ephemeral",
        "text": "",
        "username": "",
        "channel_id": "",
        "icon_url": "",
        "type": "",
        "props": None,
        "goto_location": "",
        "trigger_id": "",
        "skip_slack_parsing": False,
        "attachments": None,
        "extra_responses": None,
    }


def execute_command(directory: Directory, user_id: str, body: Any) -> dict[str, Any]:
    """`executeCommand` → `ExecuteCommand`: built-ins answer, unknown triggers are 404."""
    if not isinstance(body, dict) or any(
        body.get(k) is not None and not isinstance(body[k], str) for k in ("command", "channel_id", "team_id")
    ):
        raise invalid_param("command_args")
    command = body.get("command") or ""
    channel_id = body.get("channel_id") or ""
    if len(command) <= 1 or not command.startswith("/") or not is_valid_id(channel_id):
        raise AppError("api.command.execute_command.start.app_error", 400)
    channel = directory.channels.get(channel_id)
    if channel is None or not directory.is_member(user_id, channel):
        raise forbidden()
    if channel.delete_at:
        raise AppError("api.command.execute_command.deleted.error", 400)
    trigger = command.split(" ")[0][1:].lower()
    if trigger not in BUILTIN_COMMANDS:
        raise AppError("api.command.execute_command.not_found.app_error", 404, Trigger=trigger)
    return command_response()


def add_routes(router: web.UrlDispatcher, api: Api, directory: Directory) -> None:
    async def ping(ctx: Ctx) -> Reply:
        status: dict[str, str] = {
            "ActiveSearchBackend": "database",
            "AndroidLatestVersion": "",
            "AndroidMinVersion": "",
            "IosLatestVersion": "",
            "IosMinVersion": "",
            "status": "OK",
        }
        if ctx.request.query.get("get_server_status") == "true":
            status |= {"database_status": "OK", "filestore_status": "OK"}
        return 200, dict(sorted(status.items()))

    async def execute(ctx: Ctx) -> Reply:
        return 200, execute_command(directory, ctx.me.id, await ctx.json("command_args"))

    router.add_get("/api/v4/system/ping", api.route(ping, session=False))
    router.add_post("/api/v4/commands/execute", api.route(execute))
