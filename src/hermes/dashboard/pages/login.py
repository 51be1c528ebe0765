"""`/login`: trade the dashboard token for a cookie (only when a token is configured)."""

from __future__ import annotations

from aiohttp import web

from hermes.dashboard.app import GUARD, redirect, render


def _next(value: object) -> str:
    """Only a path on this site: never an open redirect."""
    target = str(value or "/")
    return target if target.startswith("/") and not target.startswith("//") else "/"


async def login_form(request: web.Request) -> web.StreamResponse:
    if request.app[GUARD].token is None:
        raise web.HTTPSeeOther("/")
    return render(request, "login.html", next=_next(request.query.get("next")), error=None)


async def log_in(request: web.Request) -> web.StreamResponse:
    guard = request.app[GUARD]
    form = await request.post()
    target = _next(form.get("next"))
    if guard.token is None:
        raise web.HTTPSeeOther("/")
    if not guard.token_matches(str(form.get("token", ""))):
        return render(
            request, "login.html", http_status=401, next=target, error="That is not the dashboard token."
        )
    response = redirect(target)
    guard.log_in(response)
    return response


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/login", login_form)
    router.add_post("/login", log_in)
