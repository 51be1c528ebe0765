"""Who is calling: `Authorization: Bearer <key>` is the admin key (`API_SERVER_KEY`, compared in constant
time) or a named client key (`hermes api keys create`, stored hashed in state.db) with its scopes:

- `chat`: run the agent (chat completions, responses, runs, session chat) and see what it created itself;
- `read`: read everything (sessions, responses, runs, jobs, health), change nothing;
- `admin`: everything, as the admin key.

The request remembers its caller (`caller_of`); every endpoint declares the scope it needs.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from hermes.platforms.api_server.errors import ApiError, unauthorized
from hermes.store.api_keys import ApiKeys

ADMIN = "admin"
_CALLER = web.RequestKey("caller", object)


@dataclass(frozen=True)
class Caller:
    # `admin` for API_SERVER_KEY; a client key's own name otherwise.
    name: str
    scopes: frozenset[str] = frozenset({ADMIN})

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes

    def may(self, scope: str, method: str) -> bool:
        if self.is_admin or scope in self.scopes:
            return True
        return method in ("GET", "HEAD") and "read" in self.scopes and scope != ADMIN

    def owner_filter(self, method: str) -> str | None:
        """Whose things this caller sees: None for all (admin, or reading with `read`), else its own."""
        if self.is_admin or (method in ("GET", "HEAD") and "read" in self.scopes):
            return None
        return self.name

    def sees(self, owner: str, method: str) -> bool:
        wanted = self.owner_filter(method)
        return wanted is None or wanted == owner


ADMIN_CALLER = Caller(ADMIN)


def caller_of(request: web.Request) -> Caller:
    caller = request.get(_CALLER)
    return caller if isinstance(caller, Caller) else ADMIN_CALLER


def remember_caller(request: web.Request, caller: Caller) -> None:
    request[_CALLER] = caller


def forbidden(caller: Caller, scope: str) -> ApiError:
    return ApiError(
        403,
        f"The key {caller.name!r} has no {scope!r} scope (it has: {', '.join(sorted(caller.scopes))}).",
        code="insufficient_scope",
    )


class BearerAuth:
    def __init__(self, key: str, client_keys: ApiKeys | None) -> None:
        self._key = key.encode()
        self._client_keys = client_keys

    async def check(self, header: str | None) -> Caller:
        """The caller `header` identifies; raises the 401 envelope unless it carries a live key."""
        if not header:
            raise unauthorized(
                "You didn't provide an API key. Send it as `Authorization: Bearer <API_SERVER_KEY>`."
            )
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("Incorrect API key provided.")
        if hmac.compare_digest(token.encode("utf-8", "replace"), self._key):
            return ADMIN_CALLER
        found = await self._client_keys.find(token) if self._client_keys is not None else None
        if found is None:
            raise unauthorized("Incorrect API key provided.")
        return Caller(found.name, frozenset(found.scopes))
