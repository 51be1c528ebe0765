"""Cron jobs as the API server serves them (`/api/jobs`, API-CONTRACT §13): the scheduler's own jobs in
state.db, read and changed the way `hermes cron` does, shaped as the reference's job objects.

Raises ValueError for a bad field (the API's 400) and LookupError for an unknown job (404).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from hermes.agent.tools.cronspec import (
    Schedule,
    ScheduleError,
    describe_schedule,
    describe_target,
    first_run,
    parse_schedule,
    parse_target,
)
from hermes.store import Job, Store

MAX_NAME_CHARS = 200
MAX_PROMPT_CHARS = 5000
CHANGEABLE = frozenset({"name", "schedule", "prompt", "deliver", "enabled", "grace_seconds"})


class ApiJobs:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def all(self, include_disabled: bool) -> list[dict[str, Any]]:
        return [job_object(job) for job in await self.store.jobs.all() if include_disabled or job.enabled]

    async def get(self, job_id: str) -> dict[str, Any]:
        return job_object(await self._job(job_id))

    async def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        name = _text(fields.get("name"), "name", MAX_NAME_CHARS)
        prompt = _text(fields.get("prompt"), "prompt", MAX_PROMPT_CHARS)
        now = time.time()
        schedule = _schedule(fields.get("schedule"), now)
        target = _target(fields.get("deliver"))
        grace = _grace(fields.get("grace_seconds", 300))
        job = await self.store.jobs.create(
            name=name,
            schedule_kind=schedule.kind,
            schedule_value=schedule.value,
            prompt=prompt,
            target=target,
            next_run_at=first_run(schedule, now),
            enabled=fields.get("enabled", True) is not False,
            grace_seconds=grace,
        )
        return job_object(job)

    async def update(self, job_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        job = await self._job(job_id)
        unknown = sorted(set(fields) - CHANGEABLE)
        if unknown:
            raise ValueError(f"only {', '.join(sorted(CHANGEABLE))} can be changed, not {', '.join(unknown)}")
        changes: dict[str, Any] = {}
        if "name" in fields:
            changes["name"] = _text(fields["name"], "name", MAX_NAME_CHARS)
        if "prompt" in fields:
            changes["prompt"] = _text(fields["prompt"], "prompt", MAX_PROMPT_CHARS)
        if "deliver" in fields:
            changes["target"] = _target(fields["deliver"])
        if "grace_seconds" in fields:
            changes["grace_seconds"] = _grace(fields["grace_seconds"])
        if "schedule" in fields:
            schedule = _schedule(fields["schedule"], time.time())
            changes.update(
                schedule_kind=schedule.kind,
                schedule_value=schedule.value,
                next_run_at=first_run(schedule, time.time()),
            )
        if "enabled" in fields:
            if not isinstance(fields["enabled"], bool):
                raise ValueError("enabled must be true or false")
            return await self._set_enabled(job, fields["enabled"], changes)
        return job_object(await self.store.jobs.update(job.id, **changes))

    async def delete(self, job_id: str) -> None:
        await self._job(job_id)
        await self.store.jobs.delete(job_id)

    async def pause(self, job_id: str) -> dict[str, Any]:
        return await self._set_enabled(await self._job(job_id), False, {})

    async def resume(self, job_id: str) -> dict[str, Any]:
        return await self._set_enabled(await self._job(job_id), True, {})

    async def run_now(self, job_id: str) -> dict[str, Any]:
        """Due now: the scheduler runs it at its next look (within its poll interval) and posts the answer
        to the job's target, as for a scheduled run."""
        job = await self._job(job_id)
        if not job.enabled:
            raise ValueError(f"job {job_id} is paused; resume it first")
        return job_object(await self.store.jobs.update(job.id, next_run_at=time.time()))

    async def _set_enabled(self, job: Job, enabled: bool, changes: dict[str, Any]) -> dict[str, Any]:
        if enabled and "next_run_at" not in changes:
            changes["next_run_at"] = first_run(Schedule(job.schedule_kind, job.schedule_value), time.time())
        return job_object(await self.store.jobs.update(job.id, enabled=enabled, **changes))

    async def _job(self, job_id: str) -> Job:
        job = await self.store.jobs.get(job_id)
        if job is None:
            raise LookupError("Job not found")
        return job


def job_object(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "prompt": job.prompt,
        "schedule": job.schedule_value,
        "schedule_kind": job.schedule_kind,
        "schedule_display": describe_schedule(job.schedule_kind, job.schedule_value),
        "enabled": job.enabled,
        "state": "scheduled" if job.enabled else "paused",
        "next_run_at": _iso(job.next_run_at),
        "last_run_at": _iso(job.last_run_at),
        "last_status": job.last_status,
        "last_error": job.last_error,
        "deliver": describe_target(job.target),
        "grace_seconds": job.grace_seconds,
        "created_at": _iso(job.created_at),
    }


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} is required (text)")
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    return value.strip()


def _schedule(value: Any, now: float) -> Schedule:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("schedule is required: '30m', 'every 2h', '0 9 * * 1-5' or an ISO time")
    try:
        return parse_schedule(value, now)
    except ScheduleError as exc:
        raise ValueError(str(exc)) from None


def _target(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("deliver is required: home:<platform> or <platform>:<chat id>")
    try:
        return parse_target(value)
    except ScheduleError as exc:
        raise ValueError(str(exc)) from None


def _grace(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("grace_seconds must be a whole number of seconds, 0 or more")
    return value
