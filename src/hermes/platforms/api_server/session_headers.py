"""The session headers every agent route reads: `X-Hermes-Session-Id` (which transcript a run continues,
kept under the hub session key `api_server:session:<id>`) and `X-Hermes-Session-Key` (whose long-term memory
it belongs to)."""

from __future__ import annotations

import re

from hermes.platforms.api_server.auth import Caller
from hermes.platforms.api_server.errors import bad_request

PLATFORM = "api_server"
SESSION_HEADER = "X-Hermes-Session-Id"
SESSION_KEY_HEADER = "X-Hermes-Session-Key"
SESSION_KEY_PREFIX = "api_server:session:"
MAX_SESSION_ID_CHARS = 256
# What a session id may hold: enough for another gateway's session keys (Matrix room, event and user ids)
# in proxy mode, nothing that could break a header or a log line.
_SESSION_ID = re.compile(r"[A-Za-z0-9._:@!$+=/#~-]+")


def session_id_from(value: object, param: str = SESSION_HEADER) -> str | None:
    """The client's session id, or None when it sent none; 400 for an id the server cannot keep."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_SESSION_ID_CHARS
        or not _SESSION_ID.fullmatch(value)
    ):
        raise bad_request(
            f"`{param}` must be 1-{MAX_SESSION_ID_CHARS} characters of letters, digits and ._:@!$+=/#~-",
            param,
        )
    return value


def session_key_from(header: str | None) -> str | None:
    """`X-Hermes-Session-Key`: a caller's stable scope for long-term memory, independent of the session id.
    Trimmed; empty is absent; 400 for control characters or more than 256 characters."""
    if header is None or not (key := header.strip()):
        return None
    if len(key) > MAX_SESSION_ID_CHARS or not key.isprintable():
        raise bad_request(
            f"`{SESSION_KEY_HEADER}` must be at most {MAX_SESSION_ID_CHARS} printable characters.",
            SESSION_KEY_HEADER,
        )
    return key


def memory_scope(caller: Caller, session_key: str | None) -> str | None:
    """Whose long-term memory a request sees (`RunRequest.memory_scope`): with the admin key and no session
    key the owner's (the API is the owner's way in, as before); otherwise one kept apart, per client key and
    session key (a client key cannot reach another client's scope by sending its session key)."""
    if session_key is None:
        # A client key is not the owner: its callers get a memory of their own, not the owner's notes.
        return None if caller.is_admin else f"{PLATFORM}:{caller.name}"
    return f"{PLATFORM}:{caller.name}:{session_key}"
