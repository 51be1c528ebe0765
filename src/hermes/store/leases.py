"""Leases: which replica holds a platform's connection (or the scheduler), by the database's clock.

A lease is taken only when it is free or has expired, renewed only by its holder with the token it was
given, and given up by expiring at once (never deleted, so its token keeps growing). A write that must
come from the current holder only (a reply chunk's record) is made conditional on the lease in SQL.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from hermes.store.connection import Connection
from hermes.store.database import Database
from hermes.store.dialect import Dialect
from hermes.store.errors import LeaseLostError


@dataclass(frozen=True)
class LeaseFence:
    """What a conditional write checks: this holder still holds this lease with this token."""

    name: str
    holder: str
    token: int


@dataclass(frozen=True)
class LeaseState:
    name: str
    holder: str
    token: int
    expires_at: float
    renewed_at: float


@dataclass(frozen=True)
class Replica:
    id: str
    host: str
    pid: int
    started_at: float
    seen_at: float


class Leases:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        self._now = db.dialect.now

    async def acquire(self, name: str, holder: str, ttl: float) -> int | None:
        """Take the lease when it is free or expired: its new token, or None while another holds it."""
        now = self._now
        sql = (
            "INSERT INTO leases (name, holder, token, expires_at, renewed_at) "
            f"VALUES (?, ?, 1, {now} + ?, {now}) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = leases.token + 1, "
            "expires_at = excluded.expires_at, renewed_at = excluded.renewed_at "
            "WHERE leases.expires_at <= excluded.renewed_at RETURNING token"
        )

        def take(conn: Connection) -> int | None:
            row = conn.execute(sql, (name, holder, ttl)).fetchone()
            return None if row is None else int(row[0])

        return await self._db.run(take)

    async def renew(self, fence: LeaseFence, ttl: float) -> bool:
        """Extend a lease still held; False when it expired or changed hands (it is lost)."""
        now = self._now
        sql = (
            f"UPDATE leases SET expires_at = {now} + ?, renewed_at = {now} "
            f"WHERE name = ? AND holder = ? AND token = ? AND expires_at > {now} RETURNING token"
        )
        row = await self._db.run(
            lambda conn: conn.execute(sql, (ttl, fence.name, fence.holder, fence.token)).fetchone()
        )
        return row is not None

    async def release(self, fence: LeaseFence) -> None:
        """Give the lease up now, so a standby need not wait for it to expire."""
        sql = f"UPDATE leases SET expires_at = {self._now} WHERE name = ? AND holder = ? AND token = ?"
        await self._db.run(lambda conn: conn.execute(sql, (fence.name, fence.holder, fence.token)))

    async def drop(self, fence: LeaseFence) -> None:
        """Remove a lease that fences nothing (a session's run lock), so such rows do not pile up."""
        sql = "DELETE FROM leases WHERE name = ? AND holder = ? AND token = ?"
        await self._db.run(lambda conn: conn.execute(sql, (fence.name, fence.holder, fence.token)))

    async def all(self) -> list[LeaseState]:
        rows = await self._db.run(
            lambda conn: conn.execute(
                "SELECT name, holder, token, expires_at, renewed_at FROM leases ORDER BY name"
            ).fetchall()
        )
        return [LeaseState(row[0], row[1], int(row[2]), row[3], row[4]) for row in rows]

    async def now(self) -> float:
        """The database's clock, which lease times are measured by."""
        row = await self._db.run(lambda conn: conn.execute(f"SELECT {self._now}").fetchone())
        return float(row[0])

    async def check_in(self, replica_id: str) -> None:
        """Record that this process is alive (at start, then with every renewal)."""
        now = self._now
        sql = (
            "INSERT INTO replicas (id, host, pid, started_at, seen_at) "
            f"VALUES (?, ?, ?, {now}, {now}) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at"
        )
        await self._db.run(lambda conn: conn.execute(sql, (replica_id, socket.gethostname(), os.getpid())))

    async def replicas(self, seen_within: float) -> list[Replica]:
        sql = (
            "SELECT id, host, pid, started_at, seen_at FROM replicas "
            f"WHERE seen_at > {self._now} - ? ORDER BY started_at"
        )
        rows = await self._db.run(lambda conn: conn.execute(sql, (seen_within,)).fetchall())
        return [Replica(row[0], row[1], int(row[2]), row[3], row[4]) for row in rows]


def fence_condition(now_sql: str) -> str:
    """SQL that is true while the fence's lease is held (parameters: name, holder, token)."""
    return (
        "EXISTS (SELECT 1 FROM leases WHERE name = ? AND holder = ? AND token = ? "
        f"AND expires_at > {now_sql})"
    )


def check_fence(conn: Connection, dialect: Dialect, fence: LeaseFence | None) -> None:
    """Within a write's transaction: `LeaseLostError` unless the fence's lease is held (None: no fence)."""
    if fence is None:
        return
    row = conn.execute(
        f"SELECT {fence_condition(dialect.now)}", (fence.name, fence.holder, fence.token)
    ).fetchone()
    if row is None or not row[0]:
        raise LeaseLostError(f"{fence.name}: lease {fence.token} is no longer held by {fence.holder}")
