"""The API server's own table in state.db (`api_sessions`, migration 0003): what it knows of its sessions
beyond the transcript: who opened each one (a client key sees
only its own), its title, and the session it was forked from. Sessions opened with the admin key have no
row until they get a title or are forked: the admin key owns every session no one else claimed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hermes.store.connection import Connection
from hermes.store.database import Database
from hermes.store.sessions import _SESSION_COLUMNS, Session, _session

KEY_PREFIX = "api_server:session:"
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ApiSession:
    session_id: str
    owner: str
    title: str | None
    parent_id: str | None
    # The open transcript session (None for a session created empty and never used, or ended).
    stored: Session | None


_PREFIXED = ", ".join(f"s.{column.strip()}" for column in _SESSION_COLUMNS.split(","))


class ApiSessions:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def claim(self, session_id: str, owner: str) -> bool:
        """Whether `owner` may use `session_id`, recording it as the owner of a session new to everyone.
        The admin key may use any session; another key only one nobody else has."""

        def check(conn: Connection) -> bool:
            row = conn.execute(
                "SELECT owner FROM api_sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
            if row is not None:
                return owner == ADMIN or row[0] == owner
            if owner == ADMIN:
                return True
            used = conn.execute("SELECT 1 FROM sessions WHERE key = ?", (KEY_PREFIX + session_id,)).fetchone()
            if used is not None:
                return False
            conn.execute(
                "INSERT INTO api_sessions (session_id, owner, created_at) VALUES (?, ?, ?)",
                (session_id, owner, self._clock()),
            )
            return True

        return await self._db.transaction(check)

    async def get(self, session_id: str) -> ApiSession | None:
        def read(conn: Connection) -> ApiSession | None:
            meta = conn.execute(
                "SELECT owner, title, parent_id FROM api_sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE key = ? AND ended_at IS NULL",
                (KEY_PREFIX + session_id,),
            ).fetchone()
            if meta is None and row is None:
                return None
            owner, title, parent = meta if meta is not None else (ADMIN, None, None)
            return ApiSession(session_id, owner, title, parent, None if row is None else _session(row))

        return await self._db.run(read)

    async def create(
        self, session_id: str, owner: str, title: str | None, parent_id: str | None = None
    ) -> bool:
        """False when the id is taken (by a row of ours or by a transcript)."""

        def insert(conn: Connection) -> bool:
            taken = conn.execute("SELECT 1 FROM api_sessions WHERE session_id = ?", (session_id,)).fetchone()
            used = conn.execute("SELECT 1 FROM sessions WHERE key = ?", (KEY_PREFIX + session_id,)).fetchone()
            if taken or used:
                return False
            conn.execute(
                "INSERT INTO api_sessions (session_id, owner, title, parent_id, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (session_id, owner, title, parent_id, self._clock()),
            )
            return True

        return await self._db.transaction(insert)

    async def set_title(self, session_id: str, owner: str, title: str | None) -> None:
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT INTO api_sessions (session_id, owner, title, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (session_id) DO UPDATE SET title = excluded.title",
                (session_id, owner, title, self._clock()),
            )
        )

    async def delete(self, session_id: str) -> bool:
        """The session's transcripts (open and ended) and our row; False when there was neither."""

        def remove(conn: Connection) -> bool:
            ours = conn.execute("DELETE FROM api_sessions WHERE session_id = ?", (session_id,)).rowcount
            theirs = conn.execute("DELETE FROM sessions WHERE key = ?", (KEY_PREFIX + session_id,)).rowcount
            return ours + theirs > 0

        return await self._db.transaction(remove)

    async def list(self, owner: str | None, limit: int, offset: int) -> list[ApiSession]:
        """Open API sessions, most recently active first; only `owner`'s unless None."""

        def read(conn: Connection) -> list[ApiSession]:
            where = "" if owner is None else "WHERE coalesce(listed.owner, 'admin') = ?"
            params: tuple[object, ...] = () if owner is None else (owner,)
            rows = conn.execute(
                "SELECT id, owner, title, parent_id, session FROM ("
                f"  SELECT substr(s.key, {len(KEY_PREFIX) + 1}) AS id, a.owner, a.title, a.parent_id, "
                f"  s.updated_at AS active, s.id AS session "
                "  FROM sessions s LEFT JOIN api_sessions a "
                f"  ON a.session_id = substr(s.key, {len(KEY_PREFIX) + 1}) "
                "  WHERE s.platform = 'api_server' AND s.ended_at IS NULL "
                f"  AND s.key LIKE '{KEY_PREFIX}%' "
                "  UNION ALL "
                "  SELECT a.session_id, a.owner, a.title, a.parent_id, a.created_at, NULL "
                "  FROM api_sessions a "
                "  WHERE NOT EXISTS (SELECT 1 FROM sessions s2 WHERE s2.key = "
                f"  '{KEY_PREFIX}' || a.session_id AND s2.ended_at IS NULL)"
                f") AS listed {where} ORDER BY active DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
            found = []
            for session_id, row_owner, title, parent, stored_id in rows:
                stored = None
                if stored_id is not None:
                    stored_row = conn.execute(
                        f"SELECT {_PREFIXED} FROM sessions s WHERE s.id = ?", (stored_id,)
                    ).fetchone()
                    stored = _session(stored_row)
                found.append(ApiSession(session_id, row_owner or ADMIN, title, parent, stored))
            return found

        return await self._db.run(read)
