"""A cron job's run in progress, kept so that a run cut off by a crash is finished once, not twice.

The scheduler claims the run of a job for one slot (the time it was due), stores the answer once the agent
gave it, and records each chunk as it is posted. A replica (or a restart) that finds the run claimed goes on
from there: it asks the model only when no answer was stored, and posts only the chunks not yet recorded.
With a lease fence every write is made only while that lease is held (checked in the write's own
transaction), as the inbox's reply chunks are: a replica that lost the scheduler lease cannot write over
the run its successor is finishing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from hermes.store.codec import from_json, to_json
from hermes.store.connection import Connection, Row
from hermes.store.database import Database
from hermes.store.errors import NotFoundError
from hermes.store.leases import LeaseFence, check_fence

RunStatus = Literal["ok", "error"]


@dataclass(frozen=True, slots=True)
class JobRun:
    job_id: str
    slot: float
    claimed_at: float
    # Set once the agent answered (or failed): what is posted, and how the run went.
    status: RunStatus | None
    error: str | None
    message: str | None
    # The ids of the chunks of `message` posted so far, in order.
    sent: tuple[str, ...]

    @property
    def answered(self) -> bool:
        return self.status is not None


_COLUMNS = "job_id, slot, claimed_at, status, error, message, sent"


def _run(row: Row) -> JobRun:
    return JobRun(
        job_id=row["job_id"],
        slot=row["slot"],
        claimed_at=row["claimed_at"],
        status=row["status"],
        error=row["error"],
        message=row["message"],
        sent=tuple(from_json(row["sent"])),
    )


def _get(conn: Connection, job_id: str, slot: float) -> JobRun | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM job_runs WHERE job_id = ? AND slot = ?", (job_id, slot)
    ).fetchone()
    return None if row is None else _run(row)


def _require(conn: Connection, job_id: str, slot: float) -> JobRun:
    run = _get(conn, job_id, slot)
    if run is None:
        raise NotFoundError(f"job {job_id!r} has no run for {slot}")
    return run


class JobRuns:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def claim(self, job_id: str, slot: float, *, fence: LeaseFence | None = None) -> JobRun:
        """The run of `job_id` for `slot`: new, or as an earlier claimant left it."""
        sql = (
            "INSERT INTO job_runs (job_id, slot, claimed_at) VALUES (?, ?, ?) "
            "ON CONFLICT (job_id, slot) DO NOTHING"
        )

        def claim(conn: Connection) -> JobRun:
            check_fence(conn, self._db.dialect, fence)
            try:
                conn.execute(sql, (job_id, slot, self._clock()))
            except self._db.integrity_errors as exc:
                raise NotFoundError(f"no job {job_id!r}") from exc
            return _require(conn, job_id, slot)

        return await self._db.transaction(claim)

    async def answer(
        self,
        job_id: str,
        slot: float,
        status: RunStatus,
        message: str,
        error: str | None,
        *,
        fence: LeaseFence | None = None,
    ) -> JobRun:
        """Store what the run is to post, unless an answer is stored already: the run as it now stands,
        whose message is the one to post."""
        sql = (
            "UPDATE job_runs SET status = ?, error = ?, message = ? "
            "WHERE job_id = ? AND slot = ? AND status IS NULL"
        )

        def answer(conn: Connection) -> JobRun:
            check_fence(conn, self._db.dialect, fence)
            conn.execute(sql, (status, error, message, job_id, slot))
            return _require(conn, job_id, slot)

        return await self._db.transaction(answer)

    async def record_sent(
        self, job_id: str, slot: float, chunk: int, message_id: str, *, fence: LeaseFence | None = None
    ) -> None:
        """Remember that chunk `chunk` of the run's message went out as `message_id`."""
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 0:
            raise ValueError(f"chunk must be a non-negative integer, got {chunk!r}")

        def record(conn: Connection) -> None:
            check_fence(conn, self._db.dialect, fence)
            run = _require(conn, job_id, slot)
            if chunk > len(run.sent):
                raise ValueError(f"chunk {chunk} recorded before chunk {len(run.sent)}")
            sent = to_json([*run.sent[:chunk], message_id], "sent")
            conn.execute("UPDATE job_runs SET sent = ? WHERE job_id = ? AND slot = ?", (sent, job_id, slot))

        await self._db.transaction(record)

    async def get(self, job_id: str, slot: float) -> JobRun | None:
        return await self._db.run(lambda conn: _get(conn, job_id, slot))
