"""The aiohttp application: the guard, the templates, the static files and every page's routes."""

from __future__ import annotations

import importlib
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from hermes.dashboard.context import Dashboard
from hermes.dashboard.security import CSRF, CSRF_FIELD, Guard

PACKAGE = Path(__file__).parent
# One module per page under dashboard/pages, each with `routes(router)` and its entry in the menu.
PAGES = ("overview", "sessions", "memory", "cron", "skills", "config", "logs", "metrics", "chat", "login")
DASHBOARD: web.AppKey[Dashboard] = web.AppKey("dashboard", Dashboard)
GUARD: web.AppKey[Guard] = web.AppKey("guard", Guard)
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "—"
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _ago(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    seconds = max(0, int(time.time() - timestamp))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    environment.filters["ago"] = _ago
    return environment


def dashboard(request: web.Request) -> Dashboard:
    return request.app[DASHBOARD]


def render(request: web.Request, template: str, *, http_status: int = 200, **values: Any) -> web.Response:
    """A page, with the menu, the CSRF token and every known secret scrubbed from it."""
    state = dashboard(request)
    html = (
        request.app[TEMPLATES]
        .get_template(template)
        .render(
            csrf=request[CSRF],
            csrf_field=CSRF_FIELD,
            tui=state.tui,
            path=request.path,
            home=str(state.config.paths.home),
            **values,
        )
    )
    return web.Response(status=http_status, text=state.redactor(html), content_type="text/html")


def text(
    request: web.Request, body: str, *, content_type: str = "text/plain", **headers: str
) -> web.Response:
    return web.Response(text=dashboard(request).redactor(body), content_type=content_type, headers=headers)


def redirect(location: str) -> web.Response:
    """303 to a page on this site (after a form post: reloading the result does not post again)."""
    return web.Response(status=303, headers={"Location": location})


def create_app(state: Dashboard, guard: Guard) -> web.Application:
    app = web.Application(middlewares=[guard.middleware], client_max_size=256 * 1024)
    app[DASHBOARD] = state
    app[GUARD] = guard
    app[TEMPLATES] = _environment()
    app.on_response_prepare.append(guard.on_prepare)
    app.router.add_static("/static", PACKAGE / "static", append_version=True)
    for page in PAGES:
        importlib.import_module(f"hermes.dashboard.pages.{page}").routes(app.router)

    async def close(_: web.Application) -> None:
        await state.close()

    app.on_cleanup.append(close)
    return app
