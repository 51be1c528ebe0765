"""What every API call goes through: rate limiting, the 404 route, sessions, headers and AppError bodies
(channels/web/handlers.go ServeHTTP, web/web.go Handle404, app/ratelimit.go)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import AppError, session_expired
from .ids import new_id
from .model import User
from .ratelimit import RateLimiter
from .state import Directory

JSON_TYPE = "application/json"
# What a request leaves behind for the request log.
SESSION_USER: web.RequestKey[str] = web.RequestKey("mattermost_session_user", str)
JSON_BODY: web.RequestKey[object] = web.RequestKey("mattermost_json_body", object)


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class RequestRecord:
    """One request as the emulator saw it, for tests that assert what a client did."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    user_id: str | None
    body: Any = None
    # When it arrived (ms, by the emulator's clock) and the access token it carried: tests tell apart two
    # processes using the same account with tokens of their own.
    at: int = 0
    token: str | None = None


@dataclass
class Ctx:
    request: web.Request
    user: User | None

    @property
    def me(self) -> User:
        assert self.user is not None, "route registered without a session"
        return self.user

    async def json(self, name: str) -> Any:
        """The JSON body; a body that does not decode is `api.context.invalid_param` for `name`."""
        raw = await self.request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            raise AppError("api.context.invalid_param.app_error", 400, Name=name) from None
        self.request[JSON_BODY] = body
        return body


Reply = tuple[int, Any] | web.StreamResponse
Handler = Callable[[Ctx], Awaitable[Reply]]


def parse_token(request: web.Request) -> tuple[str, str] | None:
    """`ParseAuthTokenFromRequest`: cookie, then `Authorization: Bearer|Token`, then `?access_token=`."""
    if cookie := request.cookies.get("MMAUTHTOKEN"):
        return cookie, "cookie"
    header = request.headers.get("Authorization", "")
    if len(header) > 6 and header[:6].upper() == "BEARER":
        return header[7:], "header"
    if len(header) > 5 and header[:5].lower() == "token":
        return header[6:], "header"
    if query := request.query.get("access_token"):
        return query, "query"
    return None


class Api:
    def __init__(self, directory: Directory, limiter: RateLimiter, version: Callable[[], str]) -> None:
        self.directory = directory
        self.limiter = limiter
        self.version = version
        self.records: list[RequestRecord] = []
        # A fault: the next request matching (method, path) is carried out, then `crash` runs and the
        # client never gets the answer.
        self.crash_after: tuple[str, str, Callable[[], None]] | None = None

    def session(self, request: web.Request, *, required: bool) -> User | None:
        parsed = parse_token(request)
        user = None
        if parsed is not None:
            token, location = parsed
            user = self.directory.user_for_token(token)
            if user is not None and location == "query":
                raise AppError("api.context.token_provided.app_error", 401)
        if user is None and required:
            raise session_expired()
        return user

    def route(self, handler: Handler, *, session: bool = True) -> Callable[[web.Request], Awaitable[Any]]:
        """An APIHandler: X-Request-Id, X-Version-Id, JSON content type, `Expires: 0` on GET."""

        async def serve(request: web.Request) -> web.StreamResponse:
            request_id = new_id()
            headers = {"X-Request-Id": request_id, "X-Version-Id": self.version(), "Content-Type": JSON_TYPE}
            if request.method == "GET":
                headers["Expires"] = "0"
            try:
                user = self.session(request, required=session)
                if user is not None:
                    request[SESSION_USER] = user.id
                reply = await handler(Ctx(request, user))
            except AppError as error:
                reply = (error.status, error.body(request_id))
            if isinstance(reply, web.StreamResponse):
                if not reply.prepared:
                    for key, value in headers.items():
                        reply.headers.setdefault(key, value)
                return reply
            status, body = reply
            return web.Response(status=status, body=dumps(body), headers=headers)

        return serve

    @web.middleware
    async def middleware(self, request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
        """Outermost layer: the rate limiter sees every request, then the router (404s included)."""
        arrived = self.directory.clock()
        verdict = self.limiter.check(request.remote or "", request.path)
        if verdict is not None and verdict.limited:
            response: web.StreamResponse = web.Response(
                status=429,
                body=b"limit exceeded\n",
                headers={
                    **verdict.headers,
                    "Content-Type": "text/plain; charset=utf-8",
                    "X-Content-Type-Options": "nosniff",
                },
            )
        else:
            try:
                response = await handler(request)
            except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
                response = self._not_found(request)
            if verdict is not None and not response.prepared:
                response.headers.update(verdict.headers)
            if self.crash_after is not None and self.crash_after[:2] == (request.method, request.path):
                crash = self.crash_after[2]
                self.crash_after = None
                self._record(request, response, arrived)
                crash()
                # The crash closes this connection before any answer is written.
                await asyncio.Event().wait()
        self._record(request, response, arrived)
        return response

    def _record(self, request: web.Request, response: web.StreamResponse, arrived: int) -> None:
        parsed = parse_token(request)
        self.records.append(
            RequestRecord(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                status=response.status,
                user_id=request.get(SESSION_USER),
                body=request.get(JSON_BODY),
                at=arrived,
                token=parsed[0] if parsed is not None else None,
            )
        )

    @staticmethod
    def _not_found(request: web.Request) -> web.Response:
        """`Handle404` writes the AppError without a content type: Go sniffs it as text/plain."""
        if not request.path.startswith("/api/"):
            return web.Response(status=404, body=b"404 page not found\n")
        detail = (
            f"There doesn't appear to be an api call for the url='{request.path}'.  "
            "Typo? are you missing a team_id or user_id as part of the url?"
        )
        body = AppError("api.context.404.app_error", 404, detailed=detail).body(None)
        return web.Response(
            status=404, body=dumps(body), headers={"Content-Type": "text/plain; charset=utf-8"}
        )
