"""`hermes cron list|add|pause|resume|rm|run`: manage scheduled jobs in state.db, with or without the daemon.

The gateway picks up changes on its next poll (within 15 s). `run` asks a running gateway to run the job now
and waits for the outcome (the answer is posted to the job's target as usual); with no gateway running it
runs the job in this process and prints the answer instead, since no chat platform is connected here.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import typer

from hermes.cli.common import EXIT_CONFIG, EXIT_FAILURE, load_or_exit

if TYPE_CHECKING:
    from hermes.config import LoadedConfig
    from hermes.store import Job, Store

app = typer.Typer(help="Manage scheduled jobs (cron).", no_args_is_help=True)

T = TypeVar("T")
_POLL = 0.25


class _Failure(Exception):
    """One line for stderr and a non-zero exit."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


def _with_store(action: Callable[[LoadedConfig, Store], Awaitable[T]]) -> T:
    from hermes.store import Store, StoreError

    config = load_or_exit()

    async def main() -> T:
        config.paths.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        async with await Store.configured(config.settings.store, config.paths.state_db) as store:
            return await action(config, store)

    try:
        return asyncio.run(main())
    except _Failure as exc:
        print(f"hermes cron: {exc}", file=sys.stderr)
        raise typer.Exit(exc.code) from None
    except StoreError as exc:
        print(f"hermes cron: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILURE) from None


async def _job(store: Store, job_id: str) -> Job:
    job = await store.jobs.get(job_id)
    if job is None:
        raise _Failure(f"no job {job_id!r} (see `hermes cron list`)")
    return job


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M")


@app.command("list")
def list_jobs() -> None:
    """Every job: schedule, target, state, next and last run."""
    from rich.console import Console
    from rich.table import Table

    from hermes.agent.tools.cronspec import describe_schedule, describe_target

    jobs = _with_store(lambda _, store: store.jobs.all())
    if not jobs:
        typer.echo("No scheduled jobs. Add one with `hermes cron add SCHEDULE PROMPT --to home:<platform>`.")
        return
    table = Table("id", "name", "schedule", "target", "state", "next run", "last run")
    for job in jobs:
        state = "paused" if not job.enabled else ("done" if job.next_run_at is None else "active")
        last = f"{_when(job.last_run_at)} {job.last_status or ''}".strip()
        if job.last_error:
            last += f": {job.last_error}"
        table.add_row(
            job.id,
            job.name,
            describe_schedule(job.schedule_kind, job.schedule_value),
            describe_target(job.target),
            state,
            _when(job.next_run_at if job.enabled else None),
            last,
        )
    Console(width=200).print(table)


@app.command("add")
def add(
    schedule: str = typer.Argument(..., help="'30m', 'every 2h', '0 9 * * 1-5' or '2026-03-01T09:00'."),
    prompt: str = typer.Argument(..., help="The complete task; the job has no other context."),
    to: str = typer.Option(..., "--to", help="home:<platform> or <platform>:<chat id>."),
    name: str | None = typer.Option(None, "--name", help="A short name (default: the prompt's start)."),
    grace: int = typer.Option(300, "--grace", min=0, help="Seconds a missed run may still run late."),
    paused: bool = typer.Option(False, "--paused", help="Create it paused."),
) -> None:
    """Add a job."""
    from hermes.agent.tools.cronspec import (
        ScheduleError,
        first_run,
        job_summary,
        parse_schedule,
        parse_target,
    )

    now = time.time()
    try:
        parsed = parse_schedule(schedule, now)
        target = parse_target(to)
    except ScheduleError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not prompt.strip():
        raise typer.BadParameter("the prompt is blank", param_hint="PROMPT")

    async def create(_: LoadedConfig, store: Store) -> Job:
        return await store.jobs.create(
            name=(name or " ".join(prompt.split())[:40]).strip(),
            schedule_kind=parsed.kind,
            schedule_value=parsed.value,
            prompt=prompt.strip(),
            target=target,
            next_run_at=first_run(parsed, now),
            enabled=not paused,
            grace_seconds=grace,
        )

    typer.echo(f"Added {job_summary(_with_store(create))}")


@app.command("pause")
def pause(job_id: str = typer.Argument(..., help="The job's id.")) -> None:
    """Stop a job from running until it is resumed."""
    from hermes.agent.tools.cronspec import job_summary

    async def act(_: LoadedConfig, store: Store) -> Job:
        await _job(store, job_id)
        return await store.jobs.update(job_id, enabled=False)

    typer.echo(f"Paused {job_summary(_with_store(act))}")


@app.command("resume")
def resume(job_id: str = typer.Argument(..., help="The job's id.")) -> None:
    """Resume a paused job; its next run is computed from now."""
    from hermes.agent.tools.cronspec import Schedule, first_run, job_summary

    async def act(_: LoadedConfig, store: Store) -> Job:
        job = await _job(store, job_id)
        schedule = Schedule(job.schedule_kind, job.schedule_value)
        return await store.jobs.update(job_id, enabled=True, next_run_at=first_run(schedule, time.time()))

    typer.echo(f"Resumed {job_summary(_with_store(act))}")


@app.command("rm")
def remove(job_id: str = typer.Argument(..., help="The job's id.")) -> None:
    """Delete a job."""

    async def act(_: LoadedConfig, store: Store) -> Job:
        job = await _job(store, job_id)
        await store.jobs.delete(job_id)
        return job

    job = _with_store(act)
    typer.echo(f"Removed job {job.id} ({job.name!r}).")


@app.command("run")
def run(
    job_id: str = typer.Argument(..., help="The job's id."),
    wait: float = typer.Option(120.0, "--wait", min=1, help="Seconds to wait for a running gateway."),
) -> None:
    """Run a job now: through the running gateway (answer posted to its target), or here if none runs."""
    from hermes.agent.providers.base import ProviderConfigError

    try:
        message = _with_store(lambda config, store: _run(config, store, job_id, wait))
    except ProviderConfigError as exc:
        print(f"hermes cron: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG) from None
    typer.echo(message)


async def _run(config: LoadedConfig, store: Store, job_id: str, wait: float) -> str:
    from hermes.gateway.pid_lock import PidLock
    from hermes.gateway.scheduler import LOCK_FILE

    job = await _job(store, job_id)
    if not job.enabled:
        raise _Failure(f"job {job_id} is paused; `hermes cron resume {job_id}` first")
    lock = PidLock(config.paths.home / LOCK_FILE)
    if not await asyncio.to_thread(lock.acquire):
        return await _run_by_gateway(store, job, wait)
    try:
        return await _run_here(config, store, job)
    finally:
        await asyncio.to_thread(lock.release)


async def _run_here(config: LoadedConfig, store: Store, job: Job) -> str:
    from hermes.agent.local import LocalAgent
    from hermes.agent.tools.mcp import McpServers
    from hermes.gateway.scheduler import run_in_process

    async with McpServers.from_settings(config.settings, config.paths):
        agent = LocalAgent(config, store)
        try:
            outcome = await run_in_process(agent, store, job)
        finally:
            await agent.close()
    if outcome.status != "ok":
        raise _Failure(f"job {job.id} failed: {outcome.error}")
    return f"{outcome.text}\n\n(The gateway is not running, so this was not posted to the job's target.)"


async def _run_by_gateway(store: Store, job: Job, wait: float) -> str:
    from hermes.agent.tools.cronspec import describe_target
    from hermes.gateway.scheduler import session_key

    print(
        f"The gateway is running: asking it to run job {job.id} now (it checks every 15 s)...",
        file=sys.stderr,
    )
    before = job.last_run_at
    await store.jobs.update(job.id, next_run_at=time.time())
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        await asyncio.sleep(_POLL)
        current = await store.jobs.get(job.id)
        if current is not None and current.last_run_at == before:
            continue
        if current is not None and current.last_status != "ok":
            raise _Failure(f"job {job.id} failed: {current.last_error or current.last_status}")
        answer = await _last_answer(store, session_key(job))
        return f"{answer}\n\n(Posted to {describe_target(job.target)}.)"
    raise _Failure(f"job {job.id} did not run within {wait:.0f} s; it stays due and the gateway will run it")


async def _last_answer(store: Store, key: str) -> str:
    session = await store.sessions.current(key)
    if session is None:
        return "(no answer recorded)"
    messages = await store.sessions.messages(session.id)
    texts = [m.content for m in messages if m.role == "assistant" and m.content]
    return "\n\n".join(texts) or "(no answer recorded)"
