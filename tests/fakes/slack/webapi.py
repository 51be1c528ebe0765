"""The Web API: `POST|GET <base>/<method>`, arguments from the query string, a form body or JSON (all
three merged, as slack_sdk uses each), the token from `Authorization: Bearer` or a `token` argument (never
in a JSON body). Failures are `{"ok": false, "error": …}` with HTTP 200; only rate limiting is a 429.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .model import TEAM_ID, TEAM_NAME, File, User, new_id
from .ratelimit import RateLimits
from .workspace import HISTORY_SCOPE, READ_SCOPE, SlackError, Token, Workspace

Handler = Callable[["Call"], Awaitable[dict[str, Any]]]
UPDATE_LIMIT = 4_000
SECTION_TEXT_LIMIT = 3_000
MAX_BLOCKS = 50


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: Token
    ws: Workspace

    @property
    def actor(self) -> User:
        return self.ws.users[self.token.user or ""]

    def need(self, name: str) -> str:
        value = self.args.get(name)
        if value in (None, ""):
            raise SlackError("missing_argument" if name != "channel" else "channel_not_found")
        return str(value)

    def scope(self, scope: str) -> None:
        if self.token.kind == "bot" and scope not in self.ws.scopes:
            raise SlackError("missing_scope", needed=scope, provided=",".join(sorted(self.ws.scopes)))


@dataclass
class RequestRecord:
    method: str
    args: dict[str, Any]
    status: int
    error: str | None


@dataclass
class WebApi:
    ws: Workspace
    limits: RateLimits
    requests: list[RequestRecord] = field(default_factory=list)
    handlers: dict[str, Handler] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from . import methods

        self.handlers.update(methods.HANDLERS)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, token_arg, json_body = await _arguments(request)
        header = request.headers.get("Authorization", "")
        # apps.connections.open takes the app token only as a header; JSON bodies never carry a token.
        in_body = None if json_body or method == "apps.connections.open" else token_arg
        value = header[7:].strip() if header.lower().startswith("bearer ") else in_body
        status, body, headers = 200, None, {}
        try:
            handler = self.handlers.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            if not value:
                raise SlackError("not_authed")
            token = self.ws.tokens.get(value)
            if token is None:
                raise SlackError("invalid_auth")
            if (token.kind == "app") != (method == "apps.connections.open"):
                raise SlackError("not_allowed_token_type")
            retry_after = self.limits.check(method, str(args.get("channel") or args.get("channel_id") or ""))
            if retry_after is not None:
                status, headers = 429, {"Retry-After": str(retry_after)}
                raise SlackError("ratelimited")
            body = {"ok": True, **await handler(Call(method, args, token, self.ws))}
            if token.kind != "app":
                headers["x-oauth-scopes"] = ",".join(sorted(self.ws.scopes))
        except SlackError as exc:
            body = {"ok": False, "error": exc.code, **exc.extra}
            if exc.code == "unknown_method":
                status = 404
        self.requests.append(
            RequestRecord(method, args, status, None if body.get("ok") else body.get("error"))
        )
        return web.json_response(body, status=status, headers=headers)


async def _arguments(request: web.Request) -> tuple[dict[str, Any], str | None, bool]:
    args: dict[str, Any] = dict(request.query)
    json_body = False
    if request.method == "POST" and request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                args.update(body)
                json_body = True
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    token = args.pop("token", None)
    return args, token if isinstance(token, str) else None, json_body


def flag(value: Any, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true")


def json_arg(value: Any) -> Any:
    """Arrays and objects come as JSON text in forms and query strings, as themselves in JSON bodies."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError("invalid_arguments") from None
    return value


def check_blocks(blocks: Any) -> list[dict[str, Any]] | None:
    if blocks is None or blocks == "":
        return None
    blocks = json_arg(blocks)
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        raise SlackError("invalid_blocks")
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise SlackError("invalid_blocks")
        text = block.get("text")
        too_long = isinstance(text, dict) and not 1 <= len(str(text.get("text") or "")) <= SECTION_TEXT_LIMIT
        if block["type"] == "section" and too_long:
            raise SlackError("invalid_blocks")
    return blocks


def auth_test(call: Call) -> dict[str, Any]:
    user = call.actor
    out: dict[str, Any] = {
        "url": f"https://{TEAM_NAME}.slack.com/",
        "team": TEAM_NAME,
        "user": user.name,
        "team_id": TEAM_ID,
        "user_id": user.id,
        "is_enterprise_install": False,
    }
    if call.token.kind == "bot":
        out["bot_id"] = user.bot_id
    return out


def new_file(call: Call, name: str, length: int) -> File:
    file = File(new_id("F"), name, _mimetype(name), b"", call.actor.id)
    file.expected_length = length  # type: ignore[attr-defined]
    call.ws.files[file.id] = file
    return file


def _mimetype(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def history_scope(call: Call, kind: str) -> None:
    call.scope(HISTORY_SCOPE[kind])


def read_scope(call: Call, kind: str) -> None:
    call.scope(READ_SCOPE[kind])
