"""`/logs`: the tail of gateway.log filtered by level and platform, redacted, and `/logs/stream` following it
live (Server-Sent Events; the page's script appends what arrives)."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from hermes.dashboard import logfile
from hermes.dashboard.app import dashboard, render

SHOWN = 500
POLL_SECONDS = 0.5
LOG_NAME = "gateway.log"


def _filters(request: web.Request) -> tuple[str | None, str | None]:
    level = request.query.get("level") or None
    platform = request.query.get("platform") or None
    if level is not None and level not in logfile.LEVELS:
        raise web.HTTPBadRequest(text=f"level must be one of {', '.join(logfile.LEVELS)}\n")
    return level, platform


async def page(request: web.Request) -> web.StreamResponse:
    level, platform = _filters(request)
    state = dashboard(request)
    lines, _, _ = await asyncio.to_thread(logfile.tail, state.config.paths.logs / LOG_NAME)
    records = logfile.parse(lines)
    platforms = sorted({r.platform for r in records if r.platform})
    kept = [state.redactor(r.text) for r in [r for r in records if logfile.keep(r, level, platform)][-SHOWN:]]
    return render(
        request,
        "logs.html",
        lines=kept,
        level=level or "",
        platform=platform or "",
        levels=logfile.LEVELS,
        platforms=platforms,
    )


async def stream(request: web.Request) -> web.StreamResponse:
    level, platform = _filters(request)
    state = dashboard(request)
    path = state.config.paths.logs / LOG_NAME
    _, inode, offset = await asyncio.to_thread(logfile.tail, path, 0)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    await response.write(b": following\n\n")
    # A closed tab is noticed here: with nothing new to write, a write would never fail.
    while request.transport is not None and not request.transport.is_closing():
        lines, inode, offset = await asyncio.to_thread(logfile.read_new, path, inode, offset)
        for record in logfile.parse(lines):
            if logfile.keep(record, level, platform):
                data = json.dumps({"text": state.redactor(record.text)}, ensure_ascii=False)
                await response.write(f"data: {data}\n\n".encode())
        await asyncio.sleep(POLL_SECONDS)
    return response


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/logs", page)
    router.add_get("/logs/stream", stream)
