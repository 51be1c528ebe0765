"""Sessions and their transcripts.

A session is found by its routing key (``matrix:dm:!room``). ``/new`` ends the current session and the next
message opens another under the same key, so "the current session for a key" is its one session that has not
ended. Token totals count what was spent and are never reduced; ``message_count`` counts the stored messages.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from hermes.store.codec import from_json, to_json_or_none
from hermes.store.connection import Connection, Row
from hermes.store.database import Database
from hermes.store.errors import NotFoundError

Role = Literal["system", "user", "assistant", "tool"]
_ROLES = frozenset(get_args(Role))


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    key: str
    platform: str
    chat_id: str
    created_at: float
    updated_at: float
    ended_at: float | None
    model_override: str | None
    prompt_tokens: int
    completion_tokens: int
    message_count: int
    summary: str | None
    summary_upto_message_id: int | None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append; the store assigns its id and time."""

    role: Role
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Opening:
    """A session to open in the same transaction as its first messages (``Sessions.append``)."""

    id: str
    key: str
    platform: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    session_id: str
    role: Role
    content: str | None
    tool_calls: list[dict[str, Any]] | None
    tool_call_id: str | None
    name: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    created_at: float
    metadata: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SearchHit:
    session_id: str
    session_key: str
    message_id: int
    role: Role
    snippet: str
    created_at: float
    rank: float


_SESSION_COLUMNS = (
    "id, key, platform, chat_id, created_at, updated_at, ended_at, model_override, prompt_tokens, "
    "completion_tokens, message_count, summary, summary_upto_message_id, title"
)
# LIMIT for "all of them" that both engines accept (SQLite's -1 is an error on PostgreSQL).
_NO_LIMIT = 2**62

_MESSAGE_COLUMNS = (
    "id, session_id, role, content, tool_calls, tool_call_id, name, model, prompt_tokens, "
    "completion_tokens, created_at, metadata"
)


def _session(row: Row) -> Session:
    return Session(*row)


def _message(row: Row) -> Message:
    return Message(
        id=row["id"],
        session_id=row["session_id"],
        role=row["role"],
        content=row["content"],
        tool_calls=from_json(row["tool_calls"]),
        tool_call_id=row["tool_call_id"],
        name=row["name"],
        model=row["model"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        created_at=row["created_at"],
        metadata=from_json(row["metadata"]),
    )


def _encoded(message: NewMessage) -> tuple[Any, ...]:
    """Validate a message and encode its JSON fields, before anything is written."""
    if message.role not in _ROLES:
        raise ValueError(f"message role must be one of {sorted(_ROLES)}, got {message.role!r}")
    if message.content is not None and not isinstance(message.content, str):
        raise ValueError(f"message content must be text or None, got {type(message.content).__name__}")
    for field in ("prompt_tokens", "completion_tokens"):
        value = getattr(message, field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"message {field} must be a non-negative integer or None, got {value!r}")
    return (
        message.role,
        message.content,
        to_json_or_none(message.tool_calls, "message tool_calls"),
        message.tool_call_id,
        message.name,
        message.model,
        message.prompt_tokens,
        message.completion_tokens,
        to_json_or_none(message.metadata, "message metadata"),
    )


def new_session_id() -> str:
    return secrets.token_hex(8)


def _insert_session(conn: Connection, opening: Opening, now: float) -> None:
    conn.execute(
        "INSERT INTO sessions (id, key, platform, chat_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        (opening.id, opening.key, opening.platform, opening.chat_id, now, now),
    )


def _appended(message_id: int, session_id: str, values: tuple[Any, ...], now: float) -> Message:
    """The stored form of a message just inserted (``values`` as ``_encoded`` made them), without reading
    it back."""
    role, content, tool_calls, tool_call_id, name, model, prompt_tokens, completion_tokens, metadata = values
    return Message(
        id=message_id,
        session_id=session_id,
        role=role,
        content=content,
        tool_calls=from_json(tool_calls),
        tool_call_id=tool_call_id,
        name=name,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        created_at=now,
        metadata=from_json(metadata),
    )


def _current(conn: Connection, key: str) -> Session | None:
    row = conn.execute(
        f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE key = ? AND ended_at IS NULL", (key,)
    ).fetchone()
    return None if row is None else _session(row)


def _get(conn: Connection, session_id: str) -> Session | None:
    row = conn.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return None if row is None else _session(row)


def _require(conn: Connection, session_id: str) -> Session:
    session = _get(conn, session_id)
    if session is None:
        raise NotFoundError(f"no session {session_id!r}")
    return session


class Sessions:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def current(self, key: str) -> Session | None:
        """The open session for ``key``, if any."""
        return await self._db.run(lambda conn: _current(conn, key))

    async def get_or_create(self, key: str, *, platform: str, chat_id: str) -> Session:
        """The open session for ``key``, opening a new one when there is none."""

        def find_or_insert(conn: Connection) -> Session:
            found = _current(conn, key)
            if found is not None:
                return found
            session_id = new_session_id()
            _insert_session(conn, Opening(session_id, key, platform, chat_id), self._clock())
            return _require(conn, session_id)

        return await self._db.transaction(find_or_insert)

    async def counts(self) -> tuple[int, int]:
        """Open sessions and all sessions, for `gateway status`."""

        def read(conn: Connection) -> tuple[int, int]:
            # count(ended_at) skips NULLs; portable where sum() over a boolean is not (PostgreSQL).
            total, ended = conn.execute("SELECT count(*), count(ended_at) FROM sessions").fetchone()
            return int(total) - int(ended), int(total)

        return await self._db.run(read)

    async def get(self, session_id: str) -> Session | None:
        return await self._db.run(lambda conn: _get(conn, session_id))

    async def end_current(self, key: str) -> Session | None:
        """End the open session for ``key`` (``/new``); returns it as ended, or None if there was none."""

        def end(conn: Connection) -> Session | None:
            found = _current(conn, key)
            if found is None:
                return None
            now = self._clock()
            conn.execute(
                "UPDATE sessions SET ended_at = ?, updated_at = ? WHERE id = ?", (now, now, found.id)
            )
            return _require(conn, found.id)

        return await self._db.transaction(end)

    async def set_model_override(self, session_id: str, model: str | None) -> Session:
        return await self._update(session_id, "model_override = ?", (model,))

    async def set_summary(self, session_id: str, summary: str | None, upto_message_id: int | None) -> Session:
        """Store a summary of the messages up to ``upto_message_id``; the messages themselves stay."""
        if (summary is None) != (upto_message_id is None):
            raise ValueError("summary and upto_message_id are set together or cleared together")
        return await self._update(
            session_id, "summary = ?, summary_upto_message_id = ?", (summary, upto_message_id)
        )

    async def set_title(self, session_id: str, title: str | None) -> bool:
        """Name the session; not activity, so `updated_at` stays. False when the session is gone."""
        return await self._db.run(
            lambda conn: (
                conn.execute("UPDATE sessions SET title = ? WHERE id = ?", (title, session_id)).rowcount > 0
            )
        )

    async def _update(self, session_id: str, assignments: str, params: tuple[Any, ...]) -> Session:
        def update(conn: Connection) -> Session:
            changed = conn.execute(
                f"UPDATE sessions SET {assignments}, updated_at = ? WHERE id = ?",
                (*params, self._clock(), session_id),
            ).rowcount
            if changed == 0:
                raise NotFoundError(f"no session {session_id!r}")
            return _require(conn, session_id)

        return await self._db.transaction(update)

    async def append(
        self, session_id: str, messages: Sequence[NewMessage], *, opening: Opening | None = None
    ) -> list[Message]:
        """Append messages in order and add them to the session's totals, all in one transaction; with
        ``opening`` (whose id is ``session_id``), the session is opened in that transaction too."""
        encoded = [_encoded(message) for message in messages]
        prompt = sum(message.prompt_tokens or 0 for message in messages)
        completion = sum(message.completion_tokens or 0 for message in messages)

        def insert(conn: Connection) -> list[Message]:
            now = self._clock()
            if opening is not None:
                _insert_session(conn, opening, now)
            changed = conn.execute(
                "UPDATE sessions SET message_count = message_count + ?, prompt_tokens = prompt_tokens + ?, "
                "completion_tokens = completion_tokens + ?, updated_at = ? WHERE id = ?",
                (len(encoded), prompt, completion, now, session_id),
            ).rowcount
            if changed == 0:
                raise NotFoundError(f"no session {session_id!r}")
            stored = []
            for values in encoded:
                (message_id,) = conn.execute(
                    "INSERT INTO messages (session_id, role, content, tool_calls, tool_call_id, name, model, "
                    "prompt_tokens, completion_tokens, metadata, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (session_id, *values, now),
                ).fetchone()
                stored.append(_appended(message_id, session_id, values, now))
            return stored

        if opening is not None and opening.id != session_id:
            raise ValueError(f"the opening is for session {opening.id!r}, not {session_id!r}")
        if not encoded:
            if opening is not None:
                await self._db.transaction(lambda conn: _insert_session(conn, opening, self._clock()))
            return []
        return await self._db.transaction(insert)

    async def messages(
        self, session_id: str, *, after_id: int | None = None, limit: int | None = None
    ) -> list[Message]:
        """The session's messages in order; only those after ``after_id`` when given, at most ``limit``."""

        def read(conn: Connection) -> list[Message]:
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? AND id > ? "
                "ORDER BY id LIMIT ?",
                (session_id, -1 if after_id is None else after_id, _NO_LIMIT if limit is None else limit),
            )
            return [_message(row) for row in rows]

        return await self._db.run(read)

    async def undo_last_turn(self, session_id: str) -> list[Message]:
        """Remove the last user message and everything after it (``/undo``); returns what was removed.

        A summary that covered any removed message is dropped with it, since it describes text that is gone.
        """

        def undo(conn: Connection) -> list[Message]:
            _require(conn, session_id)
            start = conn.execute(
                "SELECT max(id) FROM messages WHERE session_id = ? AND role = 'user'", (session_id,)
            ).fetchone()[0]
            if start is None:
                return []
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? AND id >= ? ORDER BY id",
                (session_id, start),
            ).fetchall()
            conn.execute("DELETE FROM messages WHERE session_id = ? AND id >= ?", (session_id, start))
            conn.execute(
                "UPDATE sessions SET message_count = message_count - ?, updated_at = ?, "
                "summary = CASE WHEN summary_upto_message_id >= ? THEN NULL ELSE summary END, "
                "summary_upto_message_id = CASE WHEN summary_upto_message_id >= ? THEN NULL "
                "ELSE summary_upto_message_id END WHERE id = ?",
                (len(rows), self._clock(), start, start, session_id),
            )
            return [_message(row) for row in rows]

        return await self._db.transaction(undo)

    async def list_sessions(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        platform: str | None = None,
        include_ended: bool = True,
        key_contains: str | None = None,
    ) -> list[Session]:
        """Sessions, most recently active first; `key_contains` finds a user's or a chat's (their id is in
        the routing key)."""

        def read(conn: Connection) -> list[Session]:
            clauses: list[str] = []
            params: list[Any] = []
            if platform is not None:
                clauses.append("platform = ?")
                params.append(platform)
            if key_contains:
                clauses.append(self._db.dialect.contains.format(column="key"))
                params.append(key_contains)
            if not include_ended:
                clauses.append("ended_at IS NULL")
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions {where} "
                "ORDER BY updated_at DESC, created_at DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            )
            return [_session(row) for row in rows]

        return await self._db.run(read)

    async def platforms(self) -> list[str]:
        """Every platform that has a session."""
        return await self._db.run(
            lambda conn: [row[0] for row in conn.execute("SELECT DISTINCT platform FROM sessions ORDER BY 1")]
        )

    async def delete(self, session_id: str) -> bool:
        """Delete a session and its transcript; False when there was no such session."""
        return await self._db.transaction(
            lambda conn: conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0
        )

    async def search(
        self, query: str, limit: int = 10, exclude_session_id: str | None = None
    ) -> list[SearchHit]:
        """Messages containing every word of ``query``, best match first.

        Any text is a valid query: words are matched literally (see ``store.fts``).
        """
        if limit < 1:
            raise ValueError(f"search limit must be at least 1, got {limit}")
        dialect = self._db.dialect
        expression = dialect.search_expression(query)
        if expression is None:
            return []

        def read(conn: Connection) -> list[SearchHit]:
            rows = conn.execute(dialect.search_sql, (expression, exclude_session_id, limit))
            return [SearchHit(*row) for row in rows]

        return await self._db.run(read)
