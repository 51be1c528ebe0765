"""The `cronjob` tool: the agent schedules, lists, changes, pauses, resumes and removes jobs.

A job runs later in a fresh session of its own, with no memory of this chat: its prompt must say everything.
Its answer is posted to the chat it was created in (or a platform's home channel). Jobs belong to the
session that created them: the tool lists and changes only those (the operator sees all with
`hermes cron list`), as people sharing a gateway must not manage each other's jobs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from hermes.agent.tools.base import ToolArgumentError, ToolContext, ToolResult, register_tool, string_arg
from hermes.agent.tools.cronspec import (
    SCHEDULE_HELP,
    Schedule,
    ScheduleError,
    first_run,
    job_summary,
    parse_schedule,
    target_owner,
)

if TYPE_CHECKING:
    from hermes.store import Job, Store
    from hermes.store.jobs import JobTarget

ACTIONS = ("create", "list", "update", "pause", "resume", "remove")
MAX_PROMPT_CHARS = 8000
MAX_NAME_CHARS = 80
MAX_JOBS_PER_OWNER = 50


def _target(ctx: ToolContext, deliver: str) -> JobTarget:
    owner: dict[str, str] = {"owner": ctx.session_key}
    if ctx.memory_scope is not None:
        # The job's runs see its creator's memory, not the owner's.
        owner["memory_scope"] = ctx.memory_scope
    if deliver in ("", "origin"):
        origin = ctx.origin
        if origin is None:
            raise ToolArgumentError(
                "this conversation has no chat to post the job's answer to; use deliver='home' (this "
                "platform's home channel) or 'home:<platform>'"
            )
        return {
            **owner,
            "platform": origin.platform,
            "chat_id": origin.chat_id,
            "kind": origin.kind,
            "thread_id": origin.thread_id,
        }
    if deliver == "home":
        return {**owner, "home": ctx.platform}
    scope, _, platform = deliver.partition(":")
    if scope == "home" and platform:
        return {**owner, "home": platform}
    raise ToolArgumentError(
        f"deliver must be 'origin' (this chat), 'home' or 'home:<platform>', not {deliver!r}"
    )


class CronJobTool:
    name = "cronjob"
    # Scheduled runs do not get this tool: jobs creating jobs would grow without bound, unseen by the owner.
    attended_only = True
    description = (
        "Schedule tasks that run later on their own: reminders, daily summaries, periodic checks. "
        "Actions: create (name, schedule, prompt; deliver), list, update (job_id; schedule/prompt/name), "
        "pause, resume, remove (job_id). A job runs in a fresh session WITHOUT this conversation's "
        "context, so its prompt must be self-contained. Its answer is posted here (deliver='origin', the "
        "default) or to a home channel (deliver='home' or 'home:<platform>'). Schedules: " + SCHEDULE_HELP
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": list(ACTIONS)},
            "job_id": {"type": "string", "description": "The job, for update, pause, resume and remove."},
            "name": {"type": "string", "description": "A short name for the job."},
            "schedule": {"type": "string", "description": "When it runs, e.g. 'every 2h' or '0 9 * * *'."},
            "prompt": {"type": "string", "description": "The complete, self-contained task to carry out."},
            "deliver": {"type": "string", "description": "'origin' (default), 'home' or 'home:<platform>'."},
        },
        "required": ["action"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        action = string_arg(args, "action", choices=ACTIONS)
        if ctx.store is None:
            return ToolResult.error("scheduled jobs need the state store, which this conversation lacks")
        store = ctx.store
        if action == "list":
            return await self._list(store, ctx)
        if action == "create":
            return await self._create(store, args, ctx)
        job = await self._own_job(store, args, ctx)
        now = time.time()
        if action == "remove":
            await store.jobs.delete(job.id)
            return ToolResult(f"Removed job {job.id} ({job.name!r}).", summary=f"removed {job.id}")
        if action == "pause":
            job = await store.jobs.update(job.id, enabled=False)
            return ToolResult(f"Paused: {job_summary(job)}", summary=f"paused {job.id}")
        if action == "resume":
            schedule = Schedule(job.schedule_kind, job.schedule_value)
            job = await store.jobs.update(job.id, enabled=True, next_run_at=first_run(schedule, now))
            return ToolResult(f"Resumed: {job_summary(job)}", summary=f"resumed {job.id}")
        return await self._update(store, job, args, now)

    async def _list(self, store: Store, ctx: ToolContext) -> ToolResult:
        jobs = [job for job in await store.jobs.all() if target_owner(job.target) == ctx.session_key]
        if not jobs:
            return ToolResult("No scheduled jobs were created in this conversation.", summary="no jobs")
        lines = [f"{len(jobs)} job(s):"] + [f"- {job_summary(job)}" for job in jobs]
        return ToolResult("\n".join(lines), summary=f"{len(jobs)} job(s)")

    async def _create(self, store: Store, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        prompt = _prompt_arg(args)
        now = time.time()
        schedule = _schedule_arg(args, now)
        target = _target(ctx, string_arg(args, "deliver", required=False))
        name = _name_arg(args) or " ".join(prompt.split())[:40]
        owned = [job for job in await store.jobs.all() if target_owner(job.target) == ctx.session_key]
        if len(owned) >= MAX_JOBS_PER_OWNER:
            raise ToolArgumentError(f"this conversation already has {len(owned)} jobs; remove some first")
        job = await store.jobs.create(
            name=name,
            schedule_kind=schedule.kind,
            schedule_value=schedule.value,
            prompt=prompt,
            target=target,
            next_run_at=first_run(schedule, now),
        )
        return ToolResult(f"Scheduled: {job_summary(job)}", summary=f"scheduled {job.id}")

    async def _update(self, store: Store, job: Job, args: dict[str, Any], now: float) -> ToolResult:
        changes: dict[str, Any] = {}
        if args.get("prompt") is not None:
            changes["prompt"] = _prompt_arg(args)
        name = _name_arg(args)
        if name:
            changes["name"] = name
        if args.get("schedule") is not None:
            schedule = _schedule_arg(args, now)
            changes.update(
                schedule_kind=schedule.kind,
                schedule_value=schedule.value,
                next_run_at=first_run(schedule, now) if job.enabled else job.next_run_at,
            )
        if not changes:
            raise ToolArgumentError("update needs at least one of schedule, prompt or name")
        job = await store.jobs.update(job.id, **changes)
        return ToolResult(f"Updated: {job_summary(job)}", summary=f"updated {job.id}")

    async def _own_job(self, store: Store, args: dict[str, Any], ctx: ToolContext) -> Job:
        job_id = string_arg(args, "job_id")
        job = await store.jobs.get(job_id)
        if job is None or target_owner(job.target) != ctx.session_key:
            raise ToolArgumentError(f"there is no job {job_id!r} in this conversation; list shows the jobs")
        return job


def _prompt_arg(args: dict[str, Any]) -> str:
    prompt = string_arg(args, "prompt").strip()
    if not prompt:
        raise ToolArgumentError("argument 'prompt' is blank")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ToolArgumentError(f"prompt is {len(prompt)} chars; at most {MAX_PROMPT_CHARS}")
    return prompt


def _name_arg(args: dict[str, Any]) -> str:
    name = " ".join(string_arg(args, "name", required=False).split())
    if len(name) > MAX_NAME_CHARS:
        raise ToolArgumentError(f"name is {len(name)} chars; at most {MAX_NAME_CHARS}")
    return name


def _schedule_arg(args: dict[str, Any], now: float) -> Schedule:
    try:
        return parse_schedule(string_arg(args, "schedule"), now)
    except ScheduleError as exc:
        raise ToolArgumentError(str(exc)) from None


register_tool(CronJobTool())
