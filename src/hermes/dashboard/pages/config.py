"""`/config`: every effective setting and where it came from (as `hermes config show`), secrets never shown;
the loader's warnings (unknown keys, unset `${VAR}`s) flagged at the top."""

from __future__ import annotations

import json

from aiohttp import web

from hermes.config.loader import leaves
from hermes.dashboard.app import dashboard, render


def shown(value: object, secret: bool) -> str:
    if secret:
        return "set (secret, not shown)" if value else "not set"
    if isinstance(value, dict):
        # Free-form blocks (mcp_servers) may hold keys in their env: show what is configured, not the values.
        return ", ".join(sorted(value)) + " (details not shown)" if value else "{}"
    return json.dumps(value, ensure_ascii=False)


async def page(request: web.Request) -> web.StreamResponse:
    config = dashboard(request).config
    rows = [
        {
            "key": leaf.key,
            "value": shown(config.value(leaf.key), leaf.secret),
            "origin": config.origins[leaf.key],
            "secret": leaf.secret,
            "env": ", ".join(leaf.env),
        }
        for leaf in leaves()
    ]
    return render(request, "config.html", rows=rows, warnings=config.warnings)


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/config", page)
