"""What the control socket answers: `hermes gateway status` (the gateway's platforms, sessions, runs,
inbox and jobs) and `hermes gateway reload`.

Every figure comes from typed state (the supervisors, the platforms' `problem`/`halted` and
`status_fields`) and from the store's repositories; the control socket only carries the answer.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from hermes.gateway.control import Handler

if TYPE_CHECKING:
    from hermes.gateway.runner import Gateway
    from hermes.platforms.base import Platform


def describe_state(supervisor_state: str, platform: Platform) -> str:
    """connected, reconnecting, starting or stopped — as an operator means them. A platform the supervisor
    saw connect may have lost its connection since: it says so with a `problem`, and `halted` when it
    will not come back by itself."""
    if supervisor_state == "retrying":
        return "reconnecting"
    if supervisor_state != "connected":
        return supervisor_state
    if platform.halted:
        return "stopped"
    return "connected" if platform.problem is None else "reconnecting"


async def gateway_status(gateway: Gateway) -> dict[str, Any]:
    from hermes import __version__

    hub = gateway.hub
    if hub is None:
        raise RuntimeError("the gateway has not started yet")
    store = hub.store
    last_events = await store.inbox.last_accepted_at()
    open_sessions, all_sessions = await store.sessions.counts()
    platforms = {}
    for name, supervisor in gateway.supervisors.items():
        platform = supervisor.platform
        platforms[name] = {
            "state": describe_state(supervisor.state, platform),
            "supervisor_state": supervisor.state,
            "problem": platform.problem,
            # A request-driven platform (the API server) has no inbox: its last request counts.
            "last_event_at": _latest(last_events.get(name), hub.requests.last_request_at.get(name)),
            "inbox_backlog": await store.inbox.backlog_count(name),
            "label": platform.label or name,
            "fields": dict(platform.status_fields()),
        }
    jobs = await store.jobs.all()
    active = [job for job in jobs if job.enabled and job.next_run_at is not None]
    upcoming = min(active, key=lambda job: job.next_run_at or 0.0, default=None)
    running = sorted(gateway.scheduler.running_jobs) if gateway.scheduler is not None else []
    return {
        "version": __version__,
        "pid": os.getpid(),
        "home": str(gateway.config.paths.home),
        "now": time.time(),
        "started_at": hub.started_at,
        "stopping": gateway.stop_requested.is_set(),
        "platforms": platforms,
        "sessions": {"open": open_sessions, "total": all_sessions},
        "runs_in_flight": hub.runs_in_flight,
        "inbox_backlog": await store.inbox.backlog_count(),
        "replication": await gateway.replication.describe() if gateway.replication is not None else None,
        "jobs": {
            "total": len(jobs),
            "active": len(active),
            "paused": sum(1 for job in jobs if not job.enabled),
            "running": running,
            "failing": [
                {"id": job.id, "name": job.name, "error": job.last_error or job.last_status}
                for job in jobs
                if job.last_status not in (None, "ok")
            ],
            "next": None
            if upcoming is None
            else {"id": upcoming.id, "name": upcoming.name, "at": upcoming.next_run_at},
        },
    }


def _latest(*times: float | None) -> float | None:
    return max((at for at in times if at is not None), default=None)


async def gateway_reload(gateway: Gateway) -> dict[str, Any]:
    return (await gateway.reload()).as_dict()


def status_handlers(gateway: Gateway) -> dict[str, Handler]:
    """What the control socket answers: "status" (this report) and "reload" (SIGHUP's work, on demand)."""
    return {"status": lambda: gateway_status(gateway), "reload": lambda: gateway_reload(gateway)}
