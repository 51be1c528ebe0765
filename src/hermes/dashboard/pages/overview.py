"""`/`: each platform connected or not (last event, last error), runs in flight, inbox backlog, errors in the
last hour, version and uptime. Live figures come from the running gateway; without one, from state.db."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from hermes.dashboard import logfile
from hermes.dashboard.app import dashboard, render
from hermes.store.connection import Connection

HOUR = 3600.0


def _stored_figures(conn: Connection) -> dict[str, Any]:
    platforms = {
        row[0]: {"last_event_at": row[1], "inbox_backlog": row[2]}
        for row in conn.execute(
            "SELECT platform, max(accepted_at), "
            "coalesce(sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) FROM inbox GROUP BY 1"
        )
    }
    total, open_ = conn.execute(
        "SELECT count(*), coalesce(sum(CASE WHEN ended_at IS NULL THEN 1 ELSE 0 END), 0) FROM sessions"
    ).fetchone()
    jobs, paused = conn.execute(
        "SELECT count(*), coalesce(sum(CASE WHEN enabled = 0 THEN 1 ELSE 0 END), 0) FROM jobs"
    ).fetchone()
    return {
        "platforms": platforms,
        "sessions": {"total": total, "open": open_},
        "jobs": {"total": jobs, "paused": paused},
    }


def errors_last_hour(logs_dir: Path) -> tuple[int, list[logfile.LogRecord]]:
    lines, _, _ = logfile.tail(logs_dir / "errors.log", 256 * 1024)
    since = time.time() - HOUR
    recent = [r for r in logfile.parse(lines) if r.level in ("ERROR", "CRITICAL") and r.at >= since]
    return len(recent), recent[-5:]


async def overview(request: web.Request) -> web.StreamResponse:
    from hermes import __version__

    state = dashboard(request)
    status, store = await asyncio.gather(state.link.status(), state.store())
    stored = await store.db.run(_stored_figures) if store is not None else None
    errors, recent_errors = await asyncio.to_thread(errors_last_hour, state.config.paths.logs)
    platforms: dict[str, dict[str, Any]] = {}
    if stored is not None:
        for name, figures in stored["platforms"].items():
            platforms[name] = {"state": "unknown", "problem": None, **figures}
    if status is not None:
        for name, live in status.get("platforms", {}).items():
            platforms[name] = {**platforms.get(name, {}), **live}
    return render(
        request,
        "overview.html",
        status=status,
        stored=stored,
        platforms=dict(sorted(platforms.items())),
        errors=errors,
        recent_errors=recent_errors,
        version=__version__,
        dashboard_started=state.started_at,
        now=time.time(),
    )


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", overview)
