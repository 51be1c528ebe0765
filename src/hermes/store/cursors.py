"""Platform cursors: where each platform resumes reading (Matrix next_batch, Mattermost last post time)."""

from __future__ import annotations

import time
from collections.abc import Callable

from hermes.store.connection import Connection
from hermes.store.database import Database

_UPSERT = (
    "INSERT INTO cursors (platform, cursor, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (platform) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at"
)


def check_cursor(platform: str, cursor: object) -> None:
    if not isinstance(cursor, str):
        raise ValueError(f"cursor for {platform!r} must be a string, got {type(cursor).__name__}")


def upsert_cursor(conn: Connection, platform: str, cursor: str, now: float) -> None:
    """Store a cursor with the caller's connection, so it can share the caller's transaction."""
    conn.execute(_UPSERT, (platform, cursor, now))


class Cursors:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def get(self, platform: str) -> str | None:
        def read(conn: Connection) -> str | None:
            row = conn.execute("SELECT cursor FROM cursors WHERE platform = ?", (platform,)).fetchone()
            return None if row is None else row[0]

        return await self._db.run(read)

    async def set(self, platform: str, cursor: str) -> None:
        check_cursor(platform, cursor)
        await self._db.run(lambda conn: upsert_cursor(conn, platform, cursor, self._clock()))
