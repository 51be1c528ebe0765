"""`Authorization: Bearer <key>`, compared in constant time; the request remembers who called
(`caller_of`)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from hermes.platforms.api_server.errors import unauthorized

ADMIN = "admin"
_CALLER = web.RequestKey("caller", object)


@dataclass(frozen=True)
class Caller:
    # `admin` for API_SERVER_KEY; a client key's own name otherwise.
    name: str


ADMIN_CALLER = Caller(ADMIN)


def caller_of(request: web.Request) -> Caller:
    caller = request.get(_CALLER)
    return caller if isinstance(caller, Caller) else ADMIN_CALLER


def remember_caller(request: web.Request, caller: Caller) -> None:
    request[_CALLER] = caller


class BearerAuth:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def check(self, header: str | None) -> Caller:
        """The caller `header` identifies; raises the 401 envelope unless it carries a key."""
        if not header:
            raise unauthorized(
                "You didn't provide an API key. Send it as `Authorization: Bearer <API_SERVER_KEY>`."
            )
        scheme, _, token = header.strip().partition(" ")
        sent = token.strip().encode("utf-8", "replace")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent, self._key):
            raise unauthorized("Incorrect API key provided.")
        return ADMIN_CALLER
