"""The scheduler: runs cron jobs from state.db when they fall due and posts their answers.

Each run is a fresh session under the key `cron:<job id>` (so earlier runs stay searchable by the job itself),
goes through the hub's run path, and its answer goes out through the target platform's own send path, split
at the platform's limit, with idempotency keys derived from the job and the slot it ran for (a run repeated
after a crash does not post twice). A job whose run was missed by more than its grace time (the gateway was
down) skips that run; within the grace it runs once, however many slots it missed. Jobs run concurrently
(bounded); one failing job is recorded as failed and the others go on.

The scheduler holds `HERMES_HOME/cron.lock` while it runs: `hermes cron run` uses it to tell whether a
daemon is there to run a job, and two gateways on one home cannot both run the same jobs.

A run is kept in the store while it goes on (claimed, then its answer, then each chunk posted: see
`store.job_runs`), so a run cut off by a crash is finished from where it stopped, once. With replicas on
PostgreSQL each job runs under a lease, which fences all of those writes: its platform's lease where the
platform is held through one (that replica is the one connected to it), else the scheduler's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hermes.agent.contract import AgentEvent, AgentPort, Failed, Final, RunRequest
from hermes.agent.tools.cronspec import describe_schedule, describe_target, next_run, target_platform
from hermes.gateway.homes import home_chat, no_home
from hermes.gateway.image_links import images_as_links
from hermes.gateway.leases import HeldLease
from hermes.gateway.pid_lock import PidLock
from hermes.gateway.splitting import split_message
from hermes.platforms.base import ChatKind, ChatRef, FenceLost, Platform
from hermes.store import Job, JobRun, LeaseFence, LeaseLostError, Store

if TYPE_CHECKING:
    from hermes.gateway.hub import Hub

log = logging.getLogger(__name__)

POLL_SECONDS = 15.0
MAX_CONCURRENT = 4
PLATFORM_WAIT_SECONDS = 120.0
LOCK_FILE = "cron.lock"
_MAX_ERROR_CHARS = 500


def session_key(job: Job) -> str:
    return f"cron:{job.id}"


def job_text(job: Job) -> str:
    """What the agent is given: the job's prompt, and what kind of run this is."""
    schedule = describe_schedule(job.schedule_kind, job.schedule_value)
    return (
        f"[Scheduled job {job.name!r} ({job.id}, {schedule}). "
        "You run unattended: nobody can answer questions or approve anything now. Your answer will be "
        f"posted to {describe_target(job.target)}.]\n\n{job.prompt}"
    )


def job_request(job: Job, platform: str, chat_kind: ChatKind = "channel") -> RunRequest:
    return RunRequest(
        session_key=session_key(job),
        text=job_text(job),
        platform=platform,
        chat_kind=chat_kind,
        user_id=session_key(job),
        # No chat_id: nobody can be asked for approval, and the job's own jobs cannot target "this chat".
        memory_scope=_memory_scope(job),
        unattended=True,
    )


def _memory_scope(job: Job) -> str | None:
    scope = job.target.get("memory_scope") if isinstance(job.target, dict) else None
    return scope if isinstance(scope, str) else None


async def collect(events: AsyncIterator[AgentEvent]) -> Final | Failed:
    """The run's end. The stream is read to its close, so the hub's bookkeeping around it finishes now."""
    end: Final | Failed | None = None
    async for event in events:
        if end is None and isinstance(event, Final | Failed):
            end = event
    return end or Failed("the run ended without an answer")


@dataclass(frozen=True)
class JobOutcome:
    status: str  # "ok" or "error"
    text: str
    error: str | None = None
    message_ids: tuple[str, ...] = ()


class Scheduler:
    def __init__(
        self,
        hub: Hub,
        *,
        lock_path: Path | None = None,
        lease: HeldLease | None = None,
        connected: Mapping[str, asyncio.Event] | None = None,
        clock: Callable[[], float] = time.time,
        poll_seconds: float = POLL_SECONDS,
        max_concurrent: int = MAX_CONCURRENT,
        platform_wait: float = PLATFORM_WAIT_SECONDS,
    ) -> None:
        self.hub = hub
        self.store: Store = hub.store
        self.lock = PidLock(lock_path) if lock_path is not None else None
        # With replicas on PostgreSQL: a job for a platform held through a lease runs on the replica that
        # holds that platform (the one connected to it); any other job on the holder of this lease.
        self.lease = lease
        self.connected = connected or {}
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.platform_wait = platform_wait
        self._slots = asyncio.Semaphore(max_concurrent)
        self._running: dict[str, asyncio.Task[JobOutcome | None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._lock_warned = False
        if lease is not None:
            # A standby's scheduler looks for due jobs the moment its replica takes over (a lease of
            # its own or of a platform: they share their listeners).
            lease.when_acquired(self.wake)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="scheduler")

    def wake(self) -> None:
        """Look for due jobs now rather than at the next poll."""
        self._wake.set()

    async def stop(self, grace: float) -> None:
        """Start nothing new; let running jobs finish within `grace`, then cancel them (a cancelled job is
        still due, so it runs again on the next start if within its grace)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await asyncio.gather(self._loop_task, return_exceptions=True)
        running = set(self._running.values())
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self.lock is not None:
            await asyncio.to_thread(self.lock.release)

    @property
    def running_jobs(self) -> set[str]:
        return set(self._running)

    async def _loop(self) -> None:
        while not self._stopping:
            delay = self.poll_seconds
            try:
                if await self._have_lock():
                    await self.tick()
                    delay = await self._until_next(delay)
            except Exception:
                log.exception("scheduler: checking for due jobs failed; trying again in %.0f s", delay)
            if self._stopping:
                # stop() may have come while we were checking; clearing its wake-up would cost a poll.
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _have_lock(self) -> bool:
        if self.lock is None or self.lock.held:
            return True
        if await asyncio.to_thread(self.lock.acquire):
            return True
        if not self._lock_warned:
            log.warning(
                "scheduler: %s is held by another process (another gateway, or `hermes cron run`); "
                "not running jobs until it is free",
                self.lock.path,
            )
            self._lock_warned = True
        return False

    async def _until_next(self, longest: float) -> float:
        upcoming = [
            job.next_run_at
            for job in await self.store.jobs.all()
            if job.enabled and job.next_run_at is not None and job.id not in self._running and self._mine(job)
        ]
        if not upcoming:
            return longest
        return min(longest, max(0.0, min(upcoming) - self.clock()))

    # -- running jobs ------------------------------------------------------------------------------

    async def tick(self) -> list[asyncio.Task[JobOutcome | None]]:
        """Start every due job that is not running yet; skip those missed by more than their grace."""
        now = self.clock()
        started = []
        for job in await self.store.jobs.due(now):
            if job.id in self._running or self._stopping or not self._mine(job):
                continue
            assert job.next_run_at is not None
            late = now - job.next_run_at
            if late > job.grace_seconds:
                await self._skip_missed(job, late, now)
                continue
            task = asyncio.create_task(self._guarded(job), name=f"cron-{job.id}")
            self._running[job.id] = task
            task.add_done_callback(functools.partial(self._forget, job.id))
            started.append(task)
        return started

    def _forget(self, job_id: str, _task: asyncio.Task[JobOutcome | None]) -> None:
        self._running.pop(job_id, None)

    async def _skip_missed(self, job: Job, late: float, now: float) -> None:
        following = next_run(job.schedule_kind, job.schedule_value, scheduled=job.next_run_at, now=now)
        reason = f"skipped a run {late:.0f} s late (grace {job.grace_seconds} s): the gateway was not running"
        log.warning("job %s (%s): %s", job.id, job.name, reason)
        await self.store.jobs.record_run(job.id, "missed", reason, following, fence=self._fence_for(job))

    async def _guarded(self, job: Job) -> JobOutcome | None:
        async with self._slots:
            if self._stopping:
                return None
            try:
                return await self.run_job(job)
            except asyncio.CancelledError:
                raise
            except LeaseLostError as exc:
                log.warning("job %s (%s): %s; the replica holding it finishes the run", job.id, job.name, exc)
                return None
            except Exception:
                # Recording the outcome itself failed (the store); the job stays due and is retried.
                log.exception("job %s (%s): could not record its run", job.id, job.name)
                return None

    async def run_job(self, job: Job) -> JobOutcome:
        """Run one job now, deliver its answer, record the outcome and the next run. A run cut off before
        (a crash, or a replica that lost the scheduler lease) is finished rather than started again."""
        scheduled = job.next_run_at if job.next_run_at is not None else self.clock()
        # Taken once: every write of this run is made under the token it started with.
        fence = self._fence_for(job)
        lease = self._lease_for(job)
        try:
            outcome = await self._run_and_deliver(job, scheduled, fence)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, LeaseLostError):
                raise
            if isinstance(exc, FenceLost) and lease is not None and not lease.held():
                raise LeaseLostError(str(exc)) from exc
            log.warning("job %s (%s) failed: %s", job.id, job.name, exc)
            outcome = JobOutcome("error", "", _short(f"{type(exc).__name__}: {exc}"))
        await self._record(job, scheduled, outcome, fence)
        return outcome

    def _lease_for(self, job: Job) -> HeldLease | None:
        """The lease a job runs under: its platform's, where the platform is held through one (the
        holder is connected to it), else the scheduler's; None with one gateway on state.db."""
        platform = self.hub.platforms.get(target_platform(job.target))
        fence = platform.fence if platform is not None else None
        return fence if isinstance(fence, HeldLease) else self.lease

    def _fence_for(self, job: Job) -> LeaseFence | None:
        """What the job's writes are fenced by: None with no lease (one gateway on state.db)."""
        lease = self._lease_for(job)
        if lease is None:
            return None
        if lease.fence is None:
            raise LeaseLostError(f"{lease.name}: this replica no longer holds the lease")
        return lease.fence

    def _mine(self, job: Job) -> bool:
        lease = self._lease_for(job)
        return lease is None or lease.held()

    async def _run_and_deliver(self, job: Job, scheduled: float, fence: LeaseFence | None) -> JobOutcome:
        platform, chat = await self._resolve(job)
        await self._wait_connected(platform.name)
        run = await self.store.job_runs.claim(job.id, scheduled, fence=fence)
        if run.answered:
            log.info(
                "job %s (%s): finishing its run for %.0f, answered before a crash or a failover",
                job.id,
                job.name,
                scheduled,
            )
        else:
            run = await self._answer(job, scheduled, platform, chat, fence)
        assert run.status is not None and run.message is not None
        ids = await self._deliver(platform, chat, job, run, fence)
        return JobOutcome(run.status, run.message if run.status == "ok" else "", run.error, tuple(ids))

    async def _answer(
        self, job: Job, scheduled: float, platform: Platform, chat: ChatRef, fence: LeaseFence | None
    ) -> JobRun:
        """Ask the agent, and store the answer with the run before any of it is posted."""
        await self.store.sessions.end_current(session_key(job))
        end = await collect(self.hub.run_request(job_request(job, platform.name, chat.kind), asyncio.Event()))
        if isinstance(end, Final):
            return await self.store.job_runs.answer(job.id, scheduled, "ok", end.text, None, fence=fence)
        return await self.store.job_runs.answer(
            job.id, scheduled, "error", end.message, _short(end.message), fence=fence
        )

    async def _resolve(self, job: Job) -> tuple[Platform, ChatRef]:
        name = target_platform(job.target)
        platform = self.hub.platforms.get(name)
        if platform is None:
            running = ", ".join(sorted(self.hub.platforms)) or "none"
            raise LookupError(
                f"platform {name!r} of target {describe_target(job.target)} is not running ({running})"
            )
        target = job.target
        if isinstance(target, dict) and target.get("chat_id") and not target.get("home"):
            return platform, ChatRef(
                name, str(target["chat_id"]), target.get("kind") or "channel", target.get("thread_id")
            )
        chat = await home_chat(self.store.homes, platform)
        if chat is None:
            raise no_home(name)
        return platform, chat

    async def _wait_connected(self, name: str) -> None:
        event = self.connected.get(name)
        if event is None or event.is_set():
            return
        try:
            async with asyncio.timeout(self.platform_wait):
                await event.wait()
        except TimeoutError:
            raise ConnectionError(f"{name} did not connect within {self.platform_wait:.0f} s") from None

    async def _deliver(
        self, platform: Platform, chat: ChatRef, job: Job, run: JobRun, fence: LeaseFence | None
    ) -> list[str]:
        """Post the run's answer, skipping the chunks a previous attempt recorded as posted. A chunk posted
        but not recorded (a crash in between) is posted again under the same idempotency key."""
        assert run.message is not None
        body = run.message if run.status == "ok" else f"⚠️ This scheduled job could not finish: {run.message}"
        text = images_as_links(f"⏰ **{job.name}**\n\n{body}")
        chunks = split_message(text, platform.max_message_chars)
        ids = list(run.sent[: len(chunks)])
        key = f"cron:{job.id}:{int(run.slot)}"
        for index in range(len(ids), len(chunks)):
            ref = await platform.send(chat, chunks[index], idempotency_key=f"{key}:{index}")
            await self.store.job_runs.record_sent(job.id, run.slot, index, ref.message_id, fence=fence)
            ids.append(ref.message_id)
        return ids

    async def _record(
        self, job: Job, scheduled: float, outcome: JobOutcome, fence: LeaseFence | None
    ) -> None:
        current = await self.store.jobs.get(job.id)
        if current is None:
            return
        if current.schedule_kind == "once" and outcome.status == "ok" and current.next_run_at == scheduled:
            # A one-off job that did its work is done; a failed one stays listed with its error.
            await self.store.jobs.delete(job.id, fence=fence)
            return
        if current.next_run_at == scheduled:
            following = next_run(
                current.schedule_kind, current.schedule_value, scheduled=scheduled, now=self.clock()
            )
        else:
            # Changed while it ran (rescheduled, resumed, asked to run again): keep what was set.
            following = current.next_run_at
        await self.store.jobs.record_run(job.id, outcome.status, outcome.error, following, fence=fence)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"


async def run_in_process(agent: AgentPort, store: Store, job: Job) -> JobOutcome:
    """Run a job without the gateway (`hermes cron run` while no daemon runs): the answer is returned, not
    posted anywhere (no platform is connected), and the job's schedule is left as it was."""
    await store.sessions.end_current(session_key(job))
    request = job_request(job, target_platform(job.target) or "cli")
    end = await collect(agent.run(request, asyncio.Event()))
    if isinstance(end, Final):
        outcome = JobOutcome("ok", end.text)
    else:
        outcome = JobOutcome("error", "", _short(end.message))
    await store.jobs.record_run(job.id, outcome.status, outcome.error, job.next_run_at)
    return outcome
