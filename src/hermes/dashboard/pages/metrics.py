"""`/metrics`: requests, runs, tokens and latency over the last hour, day or week, as SVG charts."""

from __future__ import annotations

import time

from aiohttp import web

from hermes.dashboard.app import dashboard, render
from hermes.dashboard.history import RANGES, read_history
from hermes.dashboard.svg import Series, chart


async def page(request: web.Request) -> web.StreamResponse:
    span = request.query.get("range", "24h")
    if span not in RANGES:
        raise web.HTTPBadRequest(text=f"range must be one of {', '.join(RANGES)}\n")
    state = dashboard(request)
    store = await state.store()
    charts = []
    totals = {}
    if store is not None:
        now = time.time()
        dialect = store.db.dialect
        history = await store.db.run(lambda conn: read_history(conn, now, span, state.history, dialect))
        times = history.times
        charts = [
            chart(
                "Requests and runs",
                times,
                [Series("requests", history.requests, "s1"), Series("runs", history.runs, "s2")],
            ),
            chart(
                "Tokens",
                times,
                [
                    Series("prompt tokens", history.prompt_tokens, "s3"),
                    Series("completion tokens", history.completion_tokens, "s4"),
                ],
            ),
            chart(
                "Latency",
                times,
                [Series("average", history.latency_avg, "s1"), Series("slowest", history.latency_max, "s5")],
                kind="line",
                unit=" s",
            ),
        ]
        totals = {
            "requests": sum(history.requests),
            "runs": sum(history.runs),
            "tokens": sum(history.prompt_tokens) + sum(history.completion_tokens),
        }
    return render(request, "metrics.html", charts=charts, totals=totals, span=span, ranges=list(RANGES))


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/metrics", page)
