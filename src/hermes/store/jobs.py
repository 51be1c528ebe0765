"""Scheduled jobs: what the cron scheduler runs, when, and how the last run went.

The store keeps schedules as given (a cron expression, an interval, a time); computing ``next_run_at`` from
them is the scheduler's business.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from hermes.store.codec import from_json, to_json
from hermes.store.connection import Connection, Row
from hermes.store.database import Database
from hermes.store.errors import NotFoundError, StoreError
from hermes.store.leases import LeaseFence, check_fence

ScheduleKind = Literal["cron", "interval", "once"]
# Where a job's output goes: {"platform": ..., "chat_id": ...} or "home:<platform>".
JobTarget = dict[str, Any] | str
_KINDS = frozenset(get_args(ScheduleKind))
DEFAULT_GRACE_SECONDS = 300
_ID_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    name: str
    schedule_kind: ScheduleKind
    schedule_value: str
    prompt: str
    target: JobTarget
    enabled: bool
    created_at: float
    next_run_at: float | None
    last_run_at: float | None
    last_status: str | None
    last_error: str | None
    # A run missed by more than this (the daemon was down) is skipped rather than run late.
    grace_seconds: int


_COLUMNS = (
    "id, name, schedule_kind, schedule_value, prompt, target, enabled, created_at, next_run_at, "
    "last_run_at, last_status, last_error, grace_seconds"
)


def _job(row: Row) -> Job:
    return Job(
        id=row["id"],
        name=row["name"],
        schedule_kind=row["schedule_kind"],
        schedule_value=row["schedule_value"],
        prompt=row["prompt"],
        target=from_json(row["target"]),
        enabled=bool(row["enabled"]),
        created_at=row["created_at"],
        next_run_at=row["next_run_at"],
        last_run_at=row["last_run_at"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        grace_seconds=row["grace_seconds"],
    )


def _check_kind(kind: str) -> None:
    if kind not in _KINDS:
        raise ValueError(f"schedule kind must be one of {sorted(_KINDS)}, got {kind!r}")


def _encode_target(target: object) -> str:
    if not isinstance(target, dict | str):
        raise ValueError(f"job target must be a dict or a string, got {type(target).__name__}")
    return to_json(target, "job target")


def _check_grace(grace_seconds: int) -> None:
    if isinstance(grace_seconds, bool) or not isinstance(grace_seconds, int) or grace_seconds < 0:
        raise ValueError(f"grace_seconds must be a non-negative integer, got {grace_seconds!r}")


def _get(conn: Connection, job_id: str) -> Job | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else _job(row)


def _require(conn: Connection, job_id: str) -> Job:
    job = _get(conn, job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id!r}")
    return job


_UNSET: Any = object()


class Jobs:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self,
        *,
        name: str,
        schedule_kind: ScheduleKind,
        schedule_value: str,
        prompt: str,
        target: JobTarget,
        next_run_at: float | None,
        enabled: bool = True,
        grace_seconds: int = DEFAULT_GRACE_SECONDS,
        job_id: str | None = None,
    ) -> Job:
        """Add a job; a short random id is chosen unless ``job_id`` is given."""
        _check_kind(schedule_kind)
        _check_grace(grace_seconds)
        encoded_target = _encode_target(target)

        def insert(conn: Connection) -> Job:
            for _ in range(_ID_ATTEMPTS):
                new_id = job_id or secrets.token_hex(4)
                # ON CONFLICT rather than catching the error: on PostgreSQL a failed statement would abort
                # the whole transaction, and with it the next attempt.
                taken = conn.execute(
                    f"INSERT INTO jobs ({_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?) "
                    "ON CONFLICT (id) DO NOTHING RETURNING id",
                    (
                        new_id,
                        name,
                        schedule_kind,
                        schedule_value,
                        prompt,
                        encoded_target,
                        int(enabled),
                        self._clock(),
                        next_run_at,
                        grace_seconds,
                    ),
                ).fetchone()
                if taken is not None:
                    return _require(conn, new_id)
                if job_id is not None:
                    raise StoreError(f"a job with id {job_id!r} already exists")
            raise StoreError("could not find a free job id")

        return await self._db.transaction(insert)

    async def get(self, job_id: str) -> Job | None:
        return await self._db.run(lambda conn: _get(conn, job_id))

    async def all(self) -> list[Job]:
        """Every job, oldest first."""

        def read(conn: Connection) -> list[Job]:
            return [_job(row) for row in conn.execute(f"SELECT {_COLUMNS} FROM jobs ORDER BY created_at, id")]

        return await self._db.run(read)

    async def update(
        self,
        job_id: str,
        *,
        name: str = _UNSET,
        schedule_kind: ScheduleKind = _UNSET,
        schedule_value: str = _UNSET,
        prompt: str = _UNSET,
        target: JobTarget = _UNSET,
        enabled: bool = _UNSET,
        next_run_at: float | None = _UNSET,
        grace_seconds: int = _UNSET,
    ) -> Job:
        """Change the given fields (pause and resume are ``enabled=False`` / ``True``)."""
        changes: dict[str, Any] = {}
        if name is not _UNSET:
            changes["name"] = name
        if schedule_kind is not _UNSET:
            _check_kind(schedule_kind)
            changes["schedule_kind"] = schedule_kind
        if schedule_value is not _UNSET:
            changes["schedule_value"] = schedule_value
        if prompt is not _UNSET:
            changes["prompt"] = prompt
        if target is not _UNSET:
            changes["target"] = _encode_target(target)
        if enabled is not _UNSET:
            changes["enabled"] = int(enabled)
        if next_run_at is not _UNSET:
            changes["next_run_at"] = next_run_at
        if grace_seconds is not _UNSET:
            _check_grace(grace_seconds)
            changes["grace_seconds"] = grace_seconds

        def update(conn: Connection) -> Job:
            if changes:
                assignments = ", ".join(f"{column} = ?" for column in changes)
                conn.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*changes.values(), job_id))
            return _require(conn, job_id)

        return await self._db.transaction(update)

    async def delete(self, job_id: str, *, fence: LeaseFence | None = None) -> bool:
        """Remove the job (and its run in progress); with a `fence`, only while that lease is held."""

        def delete(conn: Connection) -> bool:
            check_fence(conn, self._db.dialect, fence)
            return conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0

        if fence is None:
            return await self._db.run(delete)
        return await self._db.transaction(delete)

    async def due(self, now: float) -> list[Job]:
        """Enabled jobs whose next run is at or before ``now``, earliest first."""

        def read(conn: Connection) -> list[Job]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE enabled = 1 AND next_run_at IS NOT NULL "
                "AND next_run_at <= ? ORDER BY next_run_at, created_at, id",
                (now,),
            )
            return [_job(row) for row in rows]

        return await self._db.run(read)

    async def record_run(
        self,
        job_id: str,
        status: str,
        error: str | None,
        next_run_at: float | None,
        *,
        fence: LeaseFence | None = None,
    ) -> Job:
        """Record how a run went and when the next one is (None: no further run). The run in progress, if
        one was kept (see `JobRuns`), is over. With a `fence`, only while that lease is held."""

        def update(conn: Connection) -> Job:
            check_fence(conn, self._db.dialect, fence)
            changed = conn.execute(
                "UPDATE jobs SET last_run_at = ?, last_status = ?, last_error = ?, next_run_at = ? "
                "WHERE id = ?",
                (self._clock(), status, error, next_run_at, job_id),
            ).rowcount
            if changed == 0:
                raise NotFoundError(f"no job {job_id!r}")
            conn.execute("DELETE FROM job_runs WHERE job_id = ?", (job_id,))
            return _require(conn, job_id)

        return await self._db.transaction(update)
