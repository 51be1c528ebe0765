"""`/chat` (with `--tui` or HERMES_DASHBOARD_TUI=1): talk to the agent as a session of its own.

Each turn goes to the running gateway over its control socket and runs there like any platform's (same agent,
tools, approvals, shutdown); its events come back to the page as Server-Sent Events: text as it streams, tool
calls starting and finishing, approval questions (answered by the buttons the page shows), the end. Without
a running gateway the page says so; nothing runs in this process.
"""

from __future__ import annotations

import json
import re
import secrets

from aiohttp import web

from hermes.dashboard.app import dashboard, redirect, render
from hermes.dashboard.gateway_link import GatewayUnavailable
from hermes.gateway.dashboard_chat import MAX_TEXT_CHARS, PLATFORM

_SESSION = re.compile(r"[a-f0-9]{16}")


def _enabled(request: web.Request) -> None:
    if not dashboard(request).tui:
        raise web.HTTPNotFound(
            text="The Chat page is off: start the dashboard with --tui or HERMES_DASHBOARD_TUI=1.\n"
        )


async def page(request: web.Request) -> web.StreamResponse:
    _enabled(request)
    session = request.query.get("session", "")
    if not _SESSION.fullmatch(session):
        return redirect(f"/chat?session={secrets.token_hex(8)}")
    state = dashboard(request)
    store = await state.store()
    stored = None if store is None else await store.sessions.current(f"{PLATFORM}:dm:{session}")
    messages = [] if stored is None or store is None else await store.sessions.messages(stored.id)
    shown = [m for m in messages if m.role in ("user", "assistant") and m.content]
    running = await state.link.status() is not None
    return render(request, "chat.html", session=session, messages=shown, running=running)


async def _json(request: web.Request) -> dict[str, object]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="The body must be a JSON object.\n") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="The body must be a JSON object.\n")
    return body


async def send(request: web.Request) -> web.StreamResponse:
    _enabled(request)
    body = await _json(request)
    session, text = body.get("session"), body.get("text")
    if not isinstance(session, str) or not _SESSION.fullmatch(session):
        raise web.HTTPBadRequest(text="session must be 16 hex digits.\n")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
        raise web.HTTPBadRequest(text=f"text must be 1-{MAX_TEXT_CHARS} characters.\n")
    state = dashboard(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    try:
        async for event in state.link.stream({"request": "chat", "session": session, "text": text}):
            data = state.redactor(json.dumps(event, ensure_ascii=False))
            await response.write(f"data: {data}\n\n".encode())
    except GatewayUnavailable as exc:
        data = json.dumps({"type": "failed", "message": f"{exc}. Start it with `hermes gateway run`."})
        await response.write(f"data: {data}\n\n".encode())
    await response.write_eof()
    return response


async def approve(request: web.Request) -> web.StreamResponse:
    _enabled(request)
    body = await _json(request)
    approval_id = body.get("id")
    if not isinstance(approval_id, str):
        raise web.HTTPBadRequest(text="id is required.\n")
    try:
        answers = [
            e
            async for e in dashboard(request).link.stream(
                {"request": "approve", "id": approval_id, "approve": body.get("approve") is True}
            )
        ]
    except GatewayUnavailable as exc:
        raise web.HTTPServiceUnavailable(text=f"{exc}.\n") from None
    answered = bool(answers) and answers[0].get("type") == "approved"
    return web.json_response({"answered": answered}, status=200 if answered else 409)


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/chat", page)
    router.add_post("/chat/send", send)
    router.add_post("/chat/approve", approve)
