"""REST v10: the routes a bot uses, each behind the same wrapper that authenticates (`Bot <token>`),
applies the rate limits, turns `DiscordError` into its JSON body and sends `Content-Type:
application/json` exactly (discord.py parses nothing else)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import errors
from .model import DM, User
from .ratelimit import RateLimiter
from .state import World

API = "/api/v10"
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class RequestRecord:
    method: str
    route: str
    path: str
    status: int
    body: Any


@dataclass
class Ctx:
    request: web.Request
    user: User
    body: Any
    files: list[tuple[str, str, bytes]]

    def param(self, name: str) -> str:
        return self.request.match_info[name]


Handler = Callable[[Ctx], Awaitable[Any]]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    raw = b"" if body is None else json.dumps(body).encode()
    return web.Response(
        status=status, body=raw or None, headers={"Content-Type": JSON_TYPE, **(headers or {})}
    )


class Rest:
    def __init__(self, world: World, limiter: RateLimiter, gateway_url: Callable[[], str]) -> None:
        self.world = world
        self.limiter = limiter
        self.gateway_url = gateway_url
        self.requests: list[RequestRecord] = []
        # One-shot refusals: (method, path prefix, error), for the permission errors a test needs.
        self.refusals: list[tuple[str, str, errors.DiscordError]] = []

    def add_routes(self, router: web.UrlDispatcher) -> None:
        add = self._add
        add(router, "GET", "/users/@me", self.me)
        add(router, "GET", "/oauth2/applications/@me", self.application)
        add(router, "GET", "/gateway/bot", self.gateway_bot)
        add(router, "GET", "/gateway", self.gateway, auth=False)
        add(router, "GET", "/channels/{channel_id}", self.get_channel)
        add(router, "GET", "/channels/{channel_id}/messages", self.list_messages)
        add(router, "POST", "/channels/{channel_id}/messages", self.create_message)
        add(router, "GET", "/channels/{channel_id}/messages/{message_id}", self.get_message)
        add(router, "PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message)
        add(router, "DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message)
        add(router, "POST", "/channels/{channel_id}/typing", self.typing)
        reaction = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
        add(router, "PUT", reaction, self.add_reaction)
        add(router, "DELETE", reaction, self.remove_reaction)
        add(router, "POST", "/channels/{channel_id}/messages/{message_id}/threads", self.start_thread)
        add(router, "POST", "/users/@me/channels", self.open_dm)
        add(router, "GET", "/applications/{app_id}/commands", self.list_commands)
        add(router, "PUT", "/applications/{app_id}/commands", self.overwrite_commands)
        add(router, "POST", "/applications/{app_id}/commands", self.create_command)
        callback = "/interactions/{interaction_id}/{token}/callback"
        add(router, "POST", callback, self.interaction_callback, auth=False, exempt_global=True)
        original = "/webhooks/{app_id}/{token}/messages/@original"
        add(router, "PATCH", original, self.edit_original, auth=False, exempt_global=True)
        add(router, "DELETE", original, self.delete_original, auth=False, exempt_global=True)
        add(router, "POST", "/webhooks/{app_id}/{token}", self.followup, auth=False, exempt_global=True)
        router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self.cdn)

    def _add(
        self,
        router: web.UrlDispatcher,
        method: str,
        template: str,
        handler: Handler,
        *,
        auth: bool = True,
        exempt_global: bool = False,
    ) -> None:
        route = f"{method} {template}"

        async def serve(request: web.Request) -> web.Response:
            status, body, headers = await self._serve(request, route, handler, auth, exempt_global)
            self.requests.append(RequestRecord(method, route, request.path, status, self._last_body))
            return json_response(status, body, headers)

        router.add_route(method, API + template, serve)

    _last_body: Any = None

    async def _serve(
        self, request: web.Request, route: str, handler: Handler, auth: bool, exempt_global: bool
    ) -> tuple[int, Any, dict[str, str]]:
        self._last_body = None
        info = request.match_info
        resource = info.get("channel_id") or info.get("guild_id") or info.get("token") or ""
        verdict = self.limiter.check(route, resource, request.path, exempt_global=exempt_global)
        if verdict.retry_after is not None:
            body = {
                "message": "You are being rate limited.",
                "retry_after": verdict.retry_after,
                "global": verdict.global_,
            }
            return 429, body, verdict.headers
        user = self.world.user_by_token(request.headers.get("Authorization"))
        if auth and user is None:
            return 401, errors.unauthorized().body(), verdict.headers
        for index, (method, prefix, error) in enumerate(self.refusals):
            if request.method == method and request.path.startswith(API + prefix):
                del self.refusals[index]
                return error.status, error.body(), verdict.headers
        try:
            body, files = await _read_body(request)
            self._last_body = body
            ctx = Ctx(request, user or _ANONYMOUS, body, files)
            result = await handler(ctx)
        except errors.DiscordError as exc:
            return exc.status, exc.body(), verdict.headers
        if result is None:
            return 204, None, verdict.headers
        return 200, result, verdict.headers

    # -- identity --------------------------------------------------------------------------------------

    async def me(self, ctx: Ctx) -> Any:
        return {**ctx.user.wire(), "verified": True, "mfa_enabled": False, "flags": 0}

    async def application(self, ctx: Ctx) -> Any:
        app = self.world.app
        if app is None or not ctx.user.bot:
            raise errors.unauthorized()
        return {
            "id": app.id,
            "name": app.name,
            "icon": None,
            "description": "",
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": {"id": "1", "username": "owner", "discriminator": "0", "avatar": None},
            "flags": app.flags,
            "bot": ctx.user.wire(),
        }

    async def gateway_bot(self, ctx: Ctx) -> Any:
        return {
            "url": self.gateway_url(),
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    async def gateway(self, ctx: Ctx) -> Any:
        return {"url": self.gateway_url()}

    # -- channels and messages -------------------------------------------------------------------------

    def _content_intent(self, viewer: User) -> bool:
        from .model import GATEWAY_MESSAGE_CONTENT

        return bool(self.world.app and self.world.app.flags & GATEWAY_MESSAGE_CONTENT)

    async def get_channel(self, ctx: Ctx) -> Any:
        return self.world.channel_for(ctx.user, ctx.param("channel_id")).wire(self.world.users)

    async def list_messages(self, ctx: Ctx) -> Any:
        channel = self.world.channel_for(ctx.user, ctx.param("channel_id"))
        query = ctx.request.query
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            raise errors.form_error("limit", "NUMBER_TYPE_COERCE", "Value is not int.") from None
        if not 1 <= limit <= 100:
            raise errors.form_error("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
        messages = self.world.history(channel)
        if "after" in query:
            after = int(query["after"])
            chosen = [m for m in messages if int(m.id) > after][:limit]
        elif "before" in query:
            before = int(query["before"])
            chosen = [m for m in messages if int(m.id) < before][-limit:]
        else:
            chosen = messages[-limit:]
        intent = self._content_intent(ctx.user)
        return [self.world.message_wire(m, ctx.user, has_intent=intent) for m in reversed(chosen)]

    async def get_message(self, ctx: Ctx) -> Any:
        channel = self.world.channel_for(ctx.user, ctx.param("channel_id"))
        message = self.world.message_in(channel, ctx.param("message_id"))
        return self.world.message_wire(message, ctx.user, has_intent=self._content_intent(ctx.user))

    async def create_message(self, ctx: Ctx) -> Any:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        message, _ = self.world.create_message(ctx.user, ctx.param("channel_id"), body, ctx.files)
        return self.world.message_wire(message)

    async def edit_message(self, ctx: Ctx) -> Any:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        message = self.world.edit_message(ctx.user, ctx.param("channel_id"), ctx.param("message_id"), body)
        return self.world.message_wire(message)

    async def delete_message(self, ctx: Ctx) -> Any:
        self.world.delete_message(ctx.user, ctx.param("channel_id"), ctx.param("message_id"))

    async def typing(self, ctx: Ctx) -> Any:
        import time

        channel = self.world.channel_for(ctx.user, ctx.param("channel_id"))
        self.world.typing.append((channel.id, ctx.user.id, time.monotonic()))

    async def add_reaction(self, ctx: Ctx) -> Any:
        self.world.react(ctx.user, ctx.param("channel_id"), ctx.param("message_id"), ctx.param("emoji"), True)

    async def remove_reaction(self, ctx: Ctx) -> Any:
        self.world.react(
            ctx.user, ctx.param("channel_id"), ctx.param("message_id"), ctx.param("emoji"), False
        )

    async def start_thread(self, ctx: Ctx) -> Any:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        name = str(body.get("name") or "")
        thread = self.world.start_thread(ctx.user, ctx.param("channel_id"), ctx.param("message_id"), name)
        return thread.wire(self.world.users)

    async def open_dm(self, ctx: Ctx) -> Any:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        other = self.world.users.get(str(body.get("recipient_id")))
        if other is None:
            raise errors.DiscordError(400, 50033, "Invalid Recipient(s)")
        channel = self.world.dm_channel(ctx.user, other)
        assert channel.type == DM
        return channel.wire(self.world.users)

    # -- application commands and interactions ---------------------------------------------------------

    def _app_of(self, ctx: Ctx) -> Any:
        app = self.world.app
        if app is None or ctx.param("app_id") != app.id or not ctx.user.bot:
            raise errors.DiscordError(403, 50001, "Missing Access")
        return app

    async def list_commands(self, ctx: Ctx) -> Any:
        return list(self._app_of(ctx).commands.values())

    async def overwrite_commands(self, ctx: Ctx) -> Any:
        app = self._app_of(ctx)
        if not isinstance(ctx.body, list) or len(ctx.body) > 100:
            raise errors.form_error("_", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        commands = {}
        for index, raw in enumerate(ctx.body):
            commands[raw.get("name")] = self._command(app, raw, index)
        app.commands = commands
        app.command_writes += 1
        return list(commands.values())

    async def create_command(self, ctx: Ctx) -> Any:
        app = self._app_of(ctx)
        command = self._command(app, ctx.body if isinstance(ctx.body, dict) else {}, 0)
        app.commands[command["name"]] = command
        app.command_writes += 1
        return command

    def _command(self, app: Any, raw: dict[str, Any], index: int) -> dict[str, Any]:
        import re

        name = raw.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[-_\w]{1,32}", name) or name != name.lower():
            raise errors.form_error(
                f"{index}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
            )
        description = raw.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise errors.form_error(
                f"{index}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        known = app.commands.get(name)
        return {
            "id": known["id"] if known else self.world.mint(),
            "application_id": app.id,
            "version": self.world.mint(),
            "type": raw.get("type", 1),
            "name": name,
            "description": description,
            "options": raw.get("options", []),
            "default_member_permissions": None,
            "dm_permission": True,
            "contexts": raw.get("contexts"),
            "integration_types": raw.get("integration_types", [0]),
            "nsfw": False,
        }

    async def interaction_callback(self, ctx: Ctx) -> Any:
        interaction = self.world.interactions.get(ctx.param("interaction_id"))
        if interaction is None or interaction.token != ctx.param("token"):
            raise errors.unknown_interaction()
        self.world.respond(interaction, ctx.body if isinstance(ctx.body, dict) else {})
        if ctx.request.query.get("with_response") in ("1", "true", "True"):
            return {"interaction": {"id": interaction.id, "type": 2}}
        return None

    async def edit_original(self, ctx: Ctx) -> Any:
        interaction = self.world.interaction_by_token(ctx.param("token"))
        if interaction.responded is None or interaction.deleted:
            raise errors.unknown_message()
        body = ctx.body if isinstance(ctx.body, dict) else {}
        interaction.original = body.get("content")
        return {"id": interaction.id, "content": interaction.original, "channel_id": interaction.channel_id}

    async def delete_original(self, ctx: Ctx) -> Any:
        interaction = self.world.interaction_by_token(ctx.param("token"))
        if interaction.responded is None or interaction.deleted:
            raise errors.unknown_message()
        interaction.deleted = True

    async def followup(self, ctx: Ctx) -> Any:
        interaction = self.world.interaction_by_token(ctx.param("token"))
        if interaction.responded is None:
            raise errors.unknown_webhook()
        body = ctx.body if isinstance(ctx.body, dict) else {}
        interaction.followups.append(str(body.get("content") or ""))
        return {"id": self.world.mint(), "content": body.get("content"), "channel_id": interaction.channel_id}

    # -- the CDN ---------------------------------------------------------------------------------------

    async def cdn(self, request: web.Request) -> web.Response:
        for message in self.world.messages.values():
            for attachment in message.attachments:
                if attachment.id == request.match_info["attachment_id"]:
                    return web.Response(body=attachment.data, content_type=attachment.content_type)
        return web.Response(status=404, text="Not Found")


_ANONYMOUS = User("0", "anonymous", token="")


async def _read_body(request: web.Request) -> tuple[Any, list[tuple[str, str, bytes]]]:
    if not request.can_read_body:
        return None, []
    kind = request.content_type
    if kind == "multipart/form-data":
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return None, []
    if kind != JSON_TYPE:
        raise errors.DiscordError(400, 50035, "Invalid Form Body")  # no JSON content type
    try:
        return json.loads(raw), []
    except ValueError:
        raise errors.DiscordError(400, 50109, "The request body contains invalid JSON.") from None


async def _read_multipart(request: web.Request) -> tuple[Any, list[tuple[str, str, bytes]]]:
    reader = await request.multipart()
    body: Any = {}
    files: list[tuple[str, str, bytes]] = []
    while (part := await reader.next()) is not None:
        name = getattr(part, "name", None)
        data = await part.read()  # type: ignore[union-attr]
        if name == "payload_json":
            body = json.loads(data)
        elif name and name.startswith("files["):
            filename = getattr(part, "filename", None) or "file"
            content_type = part.headers.get("Content-Type", "application/octet-stream")  # type: ignore[union-attr]
            files.append((filename, content_type, bytes(data)))
    return body, files
