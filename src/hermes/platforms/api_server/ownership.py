"""Which client key may use which API session: the one that opened it (the admin key: any)."""

from __future__ import annotations

from hermes.platforms.api_server.auth import Caller
from hermes.platforms.api_server.errors import ApiError
from hermes.platforms.api_server.session_store import ApiSessions


def session_not_found(session_id: str) -> ApiError:
    return ApiError(404, f"Session not found: {session_id[:100]}", code="session_not_found")


async def claim(sessions: ApiSessions, caller: Caller, session_id: str) -> None:
    """A client key may run on a session only if it opened it (or nobody has): 404 otherwise, as if the
    session did not exist. The admin key may use any session, and writes nothing here (the hot path)."""
    if not caller.is_admin and not await sessions.claim(session_id, caller.name):
        raise session_not_found(session_id)
