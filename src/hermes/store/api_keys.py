"""Named client keys of the API server, with their scopes. Only a SHA-256 of each key is stored: the key
is shown once, when it is created, and cannot be read back."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hermes.store.connection import Connection, Row
from hermes.store.database import Database

SCOPES = ("chat", "read", "admin")


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    scopes: tuple[str, ...]
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _key(row: Row) -> ApiKey:
    return ApiKey(row[0], tuple(row[1].split(",")), row[2], row[3], row[4])


_COLUMNS = "name, scopes, created_at, last_used_at, revoked_at"


class ApiKeys:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def create(self, name: str, key: str, scopes: Sequence[str]) -> ApiKey:
        """Raises ValueError for an unknown scope or a name already in use (revoked names stay taken, so a
        log line naming a key always means one key)."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if not scopes or unknown:
            raise ValueError(f"scopes must be among {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
        ordered = ",".join(scope for scope in SCOPES if scope in scopes)

        def insert(conn: Connection) -> ApiKey:
            if conn.execute("SELECT 1 FROM api_keys WHERE name = ?", (name,)).fetchone():
                raise ValueError(f"a key named {name!r} exists already")
            conn.execute(
                "INSERT INTO api_keys (name, key_hash, scopes, created_at) VALUES (?, ?, ?, ?)",
                (name, key_hash(key), ordered, self._clock()),
            )
            return _key(conn.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE name = ?", (name,)).fetchone())

        return await self._db.transaction(insert)

    async def find(self, key: str) -> ApiKey | None:
        """The live (not revoked) key `key` is, noting its use."""

        def read(conn: Connection) -> ApiKey | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash(key),)
            ).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE api_keys SET last_used_at = ? WHERE name = ?", (self._clock(), row[0]))
            return _key(row)

        return await self._db.run(read)

    async def all(self) -> list[ApiKey]:
        return await self._db.run(
            lambda conn: [_key(row) for row in conn.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY name")]
        )

    async def revoke(self, name: str) -> bool:
        """False when there is no live key of that name."""

        def update(conn: Connection) -> bool:
            cursor = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (self._clock(), name),
            )
            return cursor.rowcount > 0

        return await self._db.run(update)
