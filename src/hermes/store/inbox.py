"""The inbox: every platform event is recorded before it is processed, once, so it is answered once.

An event is accepted (durably, unique on platform + event id, together with the platform cursor that
follows it), then marked done with the ids of the replies, or skipped with a reason. Whatever is accepted but
not finished when the daemon stops is replayed from ``pending()`` at the next start; ``sent_chunks`` tells the
replay which reply chunks already went out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hermes.store.codec import from_json, to_json
from hermes.store.connection import Connection, Row
from hermes.store.cursors import check_cursor, upsert_cursor
from hermes.store.database import Database
from hermes.store.errors import LeaseLostError, NotFoundError
from hermes.store.leases import LeaseFence, fence_condition

InboxStatus = Literal["pending", "done", "skipped"]


@dataclass(frozen=True, slots=True)
class InboxEvent:
    seq: int
    platform: str
    event_id: str
    payload: dict[str, Any]
    status: InboxStatus
    accepted_at: float
    finished_at: float | None
    reply_ids: tuple[str, ...]
    skip_reason: str | None


_INSERT = (
    "INSERT INTO inbox (platform, event_id, payload, accepted_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (platform, event_id) DO NOTHING"
)
_COLUMNS = "seq, platform, event_id, payload, status, accepted_at, finished_at, reply_ids, skip_reason"


def _event(row: Row) -> InboxEvent:
    return InboxEvent(
        seq=row["seq"],
        platform=row["platform"],
        event_id=row["event_id"],
        payload=from_json(row["payload"]),
        status=row["status"],
        accepted_at=row["accepted_at"],
        finished_at=row["finished_at"],
        reply_ids=tuple(from_json(row["reply_ids"]) or ()),
        skip_reason=row["skip_reason"],
    )


class Inbox:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def accept(
        self, platform: str, event_id: str, payload: dict[str, Any], *, cursor: str | None
    ) -> bool:
        """Record an event, and the cursor that follows it, in one transaction.

        Returns False, and leaves the cursor where it was, when the event was already accepted.
        """
        if not isinstance(payload, dict):
            raise ValueError(f"inbox payload must be a dict, got {type(payload).__name__}")
        encoded = to_json(payload, "inbox payload")
        if cursor is not None:
            check_cursor(platform, cursor)

        def insert(conn: Connection) -> bool:
            now = self._clock()
            if conn.execute(_INSERT, (platform, event_id, encoded, now)).rowcount == 0:
                return False
            if cursor is not None:
                upsert_cursor(conn, platform, cursor, now)
            return True

        if cursor is None:
            return await self._db.run(insert)
        return await self._db.transaction(insert)

    async def save_cursor(self, platform: str, cursor: str) -> None:
        check_cursor(platform, cursor)
        await self._db.run(lambda conn: upsert_cursor(conn, platform, cursor, self._clock()))

    async def mark_done(self, platform: str, event_id: str, reply_ids: Sequence[str]) -> None:
        if isinstance(reply_ids, str) or not all(isinstance(r, str) for r in reply_ids):
            raise ValueError("reply_ids must be a list of strings")
        await self._finish(platform, event_id, "done", to_json(list(reply_ids), "reply_ids"), None)

    async def mark_skipped(self, platform: str, event_id: str, reason: str) -> None:
        """Record that the event is deliberately not answered (too old, not addressed, ...)."""
        await self._finish(platform, event_id, "skipped", None, reason)

    async def _finish(
        self, platform: str, event_id: str, status: InboxStatus, reply_ids: str | None, reason: str | None
    ) -> None:
        def update(conn: Connection) -> None:
            changed = conn.execute(
                "UPDATE inbox SET status = ?, finished_at = ?, reply_ids = ?, skip_reason = ? "
                "WHERE platform = ? AND event_id = ?",
                (status, self._clock(), reply_ids, reason, platform, event_id),
            ).rowcount
            if changed == 0:
                raise NotFoundError(f"no inbox event {event_id!r} from {platform!r}")

        await self._db.run(update)

    async def get(self, platform: str, event_id: str) -> InboxEvent | None:
        def read(conn: Connection) -> InboxEvent | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM inbox WHERE platform = ? AND event_id = ?", (platform, event_id)
            ).fetchone()
            return None if row is None else _event(row)

        return await self._db.run(read)

    async def pending(self, platform: str | None = None) -> list[InboxEvent]:
        """Accepted events not yet done or skipped, oldest accept first."""

        def read(conn: Connection) -> list[InboxEvent]:
            sql = f"SELECT {_COLUMNS} FROM inbox WHERE status = 'pending'"
            params: tuple[str, ...] = ()
            if platform is not None:
                sql += " AND platform = ?"
                params = (platform,)
            return [_event(row) for row in conn.execute(sql + " ORDER BY seq", params)]

        return await self._db.run(read)

    async def backlog_count(self, platform: str | None = None) -> int:
        def read(conn: Connection) -> int:
            if platform is None:
                row = conn.execute("SELECT count(*) FROM inbox WHERE status = 'pending'").fetchone()
            else:
                row = conn.execute(
                    "SELECT count(*) FROM inbox WHERE status = 'pending' AND platform = ?", (platform,)
                ).fetchone()
            return int(row[0])

        return await self._db.run(read)

    async def last_accepted_at(self) -> dict[str, float]:
        """When each platform's latest event was accepted, for `gateway status`."""

        def read(conn: Connection) -> dict[str, float]:
            rows = conn.execute("SELECT platform, max(accepted_at) FROM inbox GROUP BY platform").fetchall()
            return {row[0]: row[1] for row in rows}

        return await self._db.run(read)

    async def record_sent(
        self, platform: str, event_id: str, chunk: int, message_id: str, *, fence: LeaseFence | None = None
    ) -> None:
        """Remember that reply chunk ``chunk`` of this event went out as ``message_id``.

        With a ``fence``, only while that lease is still held: ``LeaseLostError`` otherwise, so a replica
        that lost its platform cannot mark work as its own that the new holder is doing.
        """
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 0:
            raise ValueError(f"chunk must be a non-negative integer, got {chunk!r}")
        # SQLite needs a WHERE in an INSERT ... SELECT with ON CONFLICT, even a trivial one.
        condition = " WHERE true" if fence is None else " WHERE " + fence_condition(self._db.dialect.now)
        sql = (
            "INSERT INTO inbox_sent (platform, event_id, chunk, message_id, sent_at) "
            f"SELECT ?, ?, ?, ?, ?{condition} ON CONFLICT (platform, event_id, chunk) "
            "DO UPDATE SET message_id = excluded.message_id, sent_at = excluded.sent_at"
        )
        fenced = () if fence is None else (fence.name, fence.holder, fence.token)

        def insert(conn: Connection) -> None:
            try:
                written = conn.execute(sql, (platform, event_id, chunk, message_id, self._clock(), *fenced))
            except self._db.integrity_errors as exc:
                raise NotFoundError(f"no inbox event {event_id!r} from {platform!r}") from exc
            if fence is not None and written.rowcount == 0:
                raise LeaseLostError(f"{fence.name}: lease {fence.token} is no longer held by {fence.holder}")

        await self._db.run(insert)

    async def sent_chunks(self, platform: str, event_id: str) -> dict[int, str]:
        def read(conn: Connection) -> dict[int, str]:
            rows = conn.execute(
                "SELECT chunk, message_id FROM inbox_sent WHERE platform = ? AND event_id = ? ORDER BY chunk",
                (platform, event_id),
            )
            return {row[0]: row[1] for row in rows}

        return await self._db.run(read)

    async def prune(self, older_than: float) -> int:
        """Forget events finished before ``older_than``; returns how many.

        A pruned event id is no longer recognised as a duplicate, so keep it longer than a platform can
        redeliver an event (adapters skip events that are too old anyway).
        """

        def delete(conn: Connection) -> int:
            return conn.execute(
                "DELETE FROM inbox WHERE status <> 'pending' AND finished_at < ?", (older_than,)
            ).rowcount

        return await self._db.run(delete)
