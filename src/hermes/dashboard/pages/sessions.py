"""`/sessions`: the list (per platform, per user or chat, full-text search), a transcript with its tool calls
and results, export as Markdown or JSON (the same documents as `hermes sessions export`), and delete."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hermes.dashboard.app import dashboard, redirect, render, text
from hermes.store import Message, Store
from hermes.transcripts import as_json, markdown

PAGE_SIZE = 50
SEARCH_LIMIT = 50
# Messages on one page of a transcript: a long-lived chat holds thousands.
TRANSCRIPT_PAGE = 200


async def _store(request: web.Request) -> Store | None:
    return await dashboard(request).store()


def _int(value: str | None, default: int) -> int:
    try:
        return max(0, int(value)) if value is not None else default
    except ValueError:
        return default


async def list_page(request: web.Request) -> web.StreamResponse:
    query = request.query
    platform = query.get("platform") or None
    who = (query.get("user") or "").strip() or None
    words = (query.get("q") or "").strip()
    offset = _int(query.get("offset"), 0)
    store = await _store(request)
    sessions, hits, platforms = [], [], []
    if store is not None:
        platforms = await store.sessions.platforms()
        if words:
            hits = await store.sessions.search(words, limit=SEARCH_LIMIT)
        else:
            sessions = await store.sessions.list_sessions(
                limit=PAGE_SIZE + 1, offset=offset, platform=platform, key_contains=who
            )
    return render(
        request,
        "sessions.html",
        sessions=sessions[:PAGE_SIZE],
        more=len(sessions) > PAGE_SIZE,
        hits=hits,
        platforms=platforms,
        platform=platform or "",
        user=who or "",
        q=words,
        offset=offset,
        page_size=PAGE_SIZE,
        no_db=store is None,
    )


def _calls(message: Message) -> list[dict[str, Any]]:
    shown = []
    for call in message.tool_calls or []:
        function = call.get("function", call) if isinstance(call, dict) else {}
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        shown.append(
            {
                "id": call.get("id", "") if isinstance(call, dict) else "",
                "name": function.get("name", "?"),
                "arguments": arguments,
            }
        )
    return shown


async def _session_or_404(request: web.Request) -> tuple[Store, Any]:
    store = await _store(request)
    session = None if store is None else await store.sessions.get(request.match_info["id"])
    if store is None or session is None:
        raise web.HTTPNotFound(text=f"No session {request.match_info['id']!r}.\n")
    return store, session


async def transcript(request: web.Request) -> web.StreamResponse:
    """A page of the transcript: its first messages, or those from message `from` on (a search hit's link
    starts there)."""
    store, session = await _session_or_404(request)
    start = _int(request.query.get("from"), 0)
    messages = await store.sessions.messages(
        session.id, after_id=start - 1 if start else None, limit=TRANSCRIPT_PAGE + 1
    )
    shown = messages[:TRANSCRIPT_PAGE]
    rows = [{"message": m, "calls": _calls(m)} for m in shown]
    later = messages[TRANSCRIPT_PAGE].id if len(messages) > TRANSCRIPT_PAGE else None
    return render(request, "transcript.html", session=session, rows=rows, later=later, from_start=start == 0)


async def export(request: web.Request) -> web.StreamResponse:
    store, session = await _session_or_404(request)
    messages = await store.sessions.messages(session.id)
    if request.query.get("format", "md") == "json":
        body, kind, suffix = as_json(session, messages), "application/json", "json"
    else:
        body, kind, suffix = markdown(session, messages), "text/markdown", "md"
    return text(
        request,
        body,
        content_type=kind,
        **{"Content-Disposition": f'attachment; filename="session-{session.id}.{suffix}"'},
    )


async def delete(request: web.Request) -> web.StreamResponse:
    store, session = await _session_or_404(request)
    await store.sessions.delete(session.id)
    return redirect("/sessions?deleted=" + session.id)


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/sessions", list_page)
    router.add_get("/sessions/{id}", transcript)
    router.add_get("/sessions/{id}/export", export)
    router.add_post("/sessions/{id}/delete", delete)
