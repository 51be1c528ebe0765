"""`/cron`: every job with its next run and last result; pause, resume, run now, delete, add.

The same rules as `hermes cron`: a resumed job's next run is computed from now; "run now" makes the job due
at once, so the running gateway fires it on its next poll (within 15 s) and posts to the job's target. With
no gateway running it is refused (`hermes cron run ID` runs it in a terminal instead), since nothing here
could post the answer.
"""

from __future__ import annotations

import time

from aiohttp import web

from hermes.agent.tools.cronspec import (
    Schedule,
    ScheduleError,
    describe_schedule,
    describe_target,
    first_run,
    parse_schedule,
    parse_target,
)
from hermes.dashboard.app import dashboard, redirect, render
from hermes.store import Job, Store


def _row(job: Job) -> dict[str, object]:
    state = "paused" if not job.enabled else ("done" if job.next_run_at is None else "active")
    return {
        "job": job,
        "schedule": describe_schedule(job.schedule_kind, job.schedule_value),
        "target": describe_target(job.target),
        "state": state,
        "next": job.next_run_at if job.enabled else None,
    }


async def _page(
    request: web.Request, *, status: int = 200, problem: str | None = None, form: dict[str, str] | None = None
) -> web.Response:
    store = await dashboard(request).store()
    jobs = await store.jobs.all() if store is not None else []
    running = await dashboard(request).link.status() is not None
    return render(
        request,
        "cron.html",
        http_status=status,
        rows=[_row(j) for j in jobs],
        problem=problem,
        notice=request.query.get("done"),
        form=form or {},
        gateway_running=running,
    )


async def page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def add(request: web.Request) -> web.StreamResponse:
    form = {key: str(value).strip() for key, value in (await request.post()).items()}
    now = time.time()
    try:
        parsed = parse_schedule(form.get("schedule", ""), now)
        target = parse_target(form.get("to", ""))
        if not form.get("prompt"):
            raise ScheduleError("the prompt is blank")
    except ScheduleError as exc:
        return await _page(request, status=400, problem=str(exc), form=form)
    store = await dashboard(request).store(create=True)
    assert store is not None
    prompt = form["prompt"]
    job = await store.jobs.create(
        name=(form.get("name") or " ".join(prompt.split())[:40]).strip(),
        schedule_kind=parsed.kind,
        schedule_value=parsed.value,
        prompt=prompt,
        target=target,
        next_run_at=first_run(parsed, now),
        enabled=form.get("paused") != "on",
    )
    return redirect(f"/cron?done=Added+job+{job.id}")


async def _job(request: web.Request) -> tuple[Store, Job]:
    store = await dashboard(request).store()
    job = None if store is None else await store.jobs.get(request.match_info["id"])
    if store is None or job is None:
        raise web.HTTPNotFound(text=f"No job {request.match_info['id']!r}.\n")
    return store, job


async def act(request: web.Request) -> web.StreamResponse:
    store, job = await _job(request)
    action = request.match_info["action"]
    if action == "pause":
        await store.jobs.update(job.id, enabled=False)
        done = f"Paused job {job.id}"
    elif action == "resume":
        schedule = Schedule(job.schedule_kind, job.schedule_value)
        await store.jobs.update(job.id, enabled=True, next_run_at=first_run(schedule, time.time()))
        done = f"Resumed job {job.id}"
    elif action == "delete":
        await store.jobs.delete(job.id)
        done = f"Deleted job {job.id}"
    elif action == "run":
        if not job.enabled:
            return await _page(request, status=409, problem=f"Job {job.id} is paused: resume it first.")
        if await dashboard(request).link.status() is None:
            return await _page(
                request,
                status=409,
                problem=f"The gateway is not running, so nothing could post job {job.id}'s answer. Start the "
                f"gateway, or run `hermes cron run {job.id}` in a terminal.",
            )
        await store.jobs.update(job.id, next_run_at=time.time())
        done = f"Job {job.id} is due now; the gateway runs it within 15 s"
    else:
        raise web.HTTPNotFound(text=f"No action {action!r}.\n")
    return redirect("/cron?done=" + done.replace(" ", "+"))


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/cron", page)
    router.add_post("/cron", add)
    router.add_post("/cron/{id}/{action}", act)
