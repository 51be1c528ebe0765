"""Deny by default: a token (when one is configured) on every page, a CSRF token on every state-changing
request, a strict Content-Security-Policy, loopback Host names only on a loopback bind, and every secret the
settings know scrubbed from every response.

The browser gets a random `hermes_sid` cookie (HttpOnly, SameSite=Strict); the CSRF token is an HMAC of it
under a key made at start, so a token is good for that browser and that process only. With a dashboard token,
`/login` trades it for a `hermes_auth` cookie holding an HMAC of the token (never the token itself); scripts
may send `Authorization: Bearer <token>` instead.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

SID_COOKIE = "hermes_sid"
AUTH_COOKIE = "hermes_auth"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# The sign-in page and its assets (our own CSS and JS, nothing in them is secret).
_OPEN_PATHS = frozenset({"/login"})
_OPEN_PREFIX = "/static/"

SID: web.RequestKey[str] = web.RequestKey("sid", str)
CSRF: web.RequestKey[str] = web.RequestKey("csrf", str)
FRESH_SID: web.RequestKey[bool] = web.RequestKey("fresh_sid", bool)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Guard:
    def __init__(self, token: str | None, *, loopback_only: bool) -> None:
        self.token = token
        self.loopback_only = loopback_only
        self._key = secrets.token_bytes(32)

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._key, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()

    def _auth_value(self) -> str:
        assert self.token is not None
        return hmac.new(self.token.encode(), b"hermes-dashboard-auth", hashlib.sha256).hexdigest()

    def token_matches(self, offered: str) -> bool:
        return self.token is not None and hmac.compare_digest(offered.encode(), self.token.encode())

    def authenticated(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and self.token_matches(header[7:].strip()):
            return True
        cookie = request.cookies.get(AUTH_COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self._auth_value().encode())

    def log_in(self, response: web.StreamResponse) -> None:
        response.set_cookie(AUTH_COOKIE, self._auth_value(), httponly=True, samesite="Strict", path="/")

    def _host_allowed(self, request: web.Request) -> bool:
        """Refuses DNS-rebinding: a page on another site that resolves its name to 127.0.0.1."""
        if not self.loopback_only:
            return True
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        return host.strip("[]").lower() in _LOOPBACK_NAMES

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self._host_allowed(request):
            return _plain(421, "This dashboard answers only on localhost.")
        sid = request.cookies.get(SID_COOKIE, "")
        request[FRESH_SID] = fresh = len(sid) != 32
        if fresh:
            sid = secrets.token_hex(16)
        request[SID] = sid
        request[CSRF] = self.csrf_token(sid)
        if not _open(request.path) and not self.authenticated(request):
            if request.method in SAFE_METHODS and "text/html" in request.headers.get("Accept", ""):
                raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
            return _plain(401, "The dashboard token is required.")
        if request.method not in SAFE_METHODS and not await self._csrf_ok(request, fresh):
            return _plain(
                403, "Refused: this request carries no valid CSRF token. Reload the page and retry."
            )
        return await handler(request)

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Every response, streamed ones included, leaves with the cookie and the hardening headers."""
        if request.get(FRESH_SID):
            # Added as a header: by the time this hook runs, cookies set on the response are already written.
            response.headers.add(
                "Set-Cookie", f"{SID_COOKIE}={request[SID]}; HttpOnly; Path=/; SameSite=Strict"
            )
        headers = response.headers
        headers["Content-Security-Policy"] = CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers.setdefault("Cache-Control", "no-store")

    async def _csrf_ok(self, request: web.Request, fresh: bool) -> bool:
        if fresh:
            return False
        offered = request.headers.get(CSRF_HEADER)
        if offered is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            offered = str((await request.post()).get(CSRF_FIELD, ""))
        return offered is not None and hmac.compare_digest(offered.encode(), request[CSRF].encode())


def _open(path: str) -> bool:
    return path in _OPEN_PATHS or path.startswith(_OPEN_PREFIX)


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain")
