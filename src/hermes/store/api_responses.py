"""Stored Responses of the API server (`/v1/responses` with `store`), kept for a retention period and up to
a number of entries; reading one counts as using it, so live chains are the last to go."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hermes.store.connection import Connection, Row
from hermes.store.database import Database


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    owner: str
    session_id: str
    message_count: int
    instructions: str | None
    conversation: str | None
    status: str
    body: dict[str, Any]
    created_at: float


_COLUMNS = "id, owner, session_id, message_count, instructions, conversation, status, body, created_at"


def _stored(row: Row) -> StoredResponse:
    return StoredResponse(
        row["id"],
        row["owner"],
        row["session_id"],
        row["message_count"],
        row["instructions"],
        row["conversation"],
        row["status"],
        json.loads(row["body"]),
        row["created_at"],
    )


class ApiResponses:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def save(self, response: StoredResponse) -> None:
        """Insert or replace (a stream saves its response as in progress, then as it ended)."""
        now = self._clock()
        values = (
            response.id,
            response.owner,
            response.session_id,
            response.message_count,
            response.instructions,
            response.conversation,
            response.status,
            json.dumps(response.body),
            response.created_at,
            now,
        )
        await self._db.run(
            lambda conn: conn.execute(
                f"INSERT INTO api_responses ({_COLUMNS}, accessed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "message_count = excluded.message_count, status = excluded.status, body = excluded.body, "
                "accessed_at = excluded.accessed_at",
                values,
            )
        )

    async def get(self, response_id: str) -> StoredResponse | None:
        def read(conn: Connection) -> StoredResponse | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM api_responses WHERE id = ?", (response_id,)
            ).fetchone()
            if row is not None:
                conn.execute(
                    "UPDATE api_responses SET accessed_at = ? WHERE id = ?", (self._clock(), response_id)
                )
            return None if row is None else _stored(row)

        return await self._db.run(read)

    async def latest_in_conversation(self, owner: str, conversation: str) -> StoredResponse | None:
        def read(conn: Connection) -> StoredResponse | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM api_responses WHERE owner = ? AND conversation = ? "
                "ORDER BY created_at DESC LIMIT 1",
                (owner, conversation),
            ).fetchone()
            return None if row is None else _stored(row)

        return await self._db.run(read)

    async def delete(self, response_id: str) -> bool:
        def remove(conn: Connection) -> bool:
            return conn.execute("DELETE FROM api_responses WHERE id = ?", (response_id,)).rowcount > 0

        return await self._db.run(remove)

    async def prune(self, older_than: float, keep_at_most: int, batch: int = 500) -> int:
        """Deletes responses unused since `older_than`, then the least recently used beyond
        `keep_at_most`; at most `batch` per call, so no call holds the database for long."""

        def remove(conn: Connection) -> int:
            removed = conn.execute(
                "DELETE FROM api_responses WHERE id IN "
                "(SELECT id FROM api_responses WHERE accessed_at < ? LIMIT ?)",
                (older_than, batch),
            ).rowcount
            excess = conn.execute("SELECT count(*) FROM api_responses").fetchone()[0] - keep_at_most
            if excess > 0:
                removed += conn.execute(
                    "DELETE FROM api_responses WHERE id IN "
                    "(SELECT id FROM api_responses ORDER BY accessed_at LIMIT ?)",
                    (min(excess, batch),),
                ).rowcount
            return removed

        return await self._db.transaction(remove)
