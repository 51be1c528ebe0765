"""Home channels: where each platform's unprompted output (cron results, notices) goes; set by /sethome."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hermes.store.connection import Connection
from hermes.store.database import Database


@dataclass(frozen=True, slots=True)
class HomeChannel:
    platform: str
    chat_id: str
    thread_id: str | None
    set_by: str | None
    set_at: float


_COLUMNS = "platform, chat_id, thread_id, set_by, set_at"


class HomeChannels:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def set(
        self, platform: str, chat_id: str, thread_id: str | None = None, *, set_by: str | None = None
    ) -> HomeChannel:
        """Make ``chat_id`` (optionally one thread in it) the platform's home, replacing any previous one."""
        if not chat_id:
            raise ValueError("home channel chat_id must not be empty")

        def upsert(conn: Connection) -> HomeChannel:
            home = HomeChannel(platform, chat_id, thread_id, set_by, self._clock())
            conn.execute(
                f"INSERT INTO home_channels ({_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (platform) DO UPDATE SET chat_id = excluded.chat_id, "
                "thread_id = excluded.thread_id, set_by = excluded.set_by, set_at = excluded.set_at",
                (home.platform, home.chat_id, home.thread_id, home.set_by, home.set_at),
            )
            return home

        return await self._db.run(upsert)

    async def get(self, platform: str) -> HomeChannel | None:
        def read(conn: Connection) -> HomeChannel | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM home_channels WHERE platform = ?", (platform,)
            ).fetchone()
            return None if row is None else HomeChannel(*row)

        return await self._db.run(read)

    async def all(self) -> list[HomeChannel]:
        return await self._db.run(
            lambda conn: [
                HomeChannel(*row)
                for row in conn.execute(f"SELECT {_COLUMNS} FROM home_channels ORDER BY platform")
            ]
        )

    async def clear(self, platform: str) -> bool:
        def delete(conn: Connection) -> bool:
            return conn.execute("DELETE FROM home_channels WHERE platform = ?", (platform,)).rowcount > 0

        return await self._db.run(delete)
