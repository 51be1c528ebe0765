"""`/memory`: MEMORY.md, USER.md and SOUL.md in editors with a live count against their limits; the
memory the agent keeps for each other person (`memories/users/<who>/`) one click away.

A save is atomic (temp + fsync + rename, as the agent's own writes) and is refused when the file changed
since the page was loaded (the agent saves memories while it runs, an operator may edit by hand): the page
says so, keeps the text typed, and offers a reload. The agent reads the files at every turn, so a save is in
its next prompt.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any
from urllib.parse import quote

from aiohttp import web

from hermes.agent.memory import MEMORY_LIMIT, USER_LIMIT
from hermes.agent.memory_files import MemoryFile, memory_files
from hermes.config import HermesPaths
from hermes.dashboard.app import dashboard, redirect, render
from hermes.fileio import write_atomic


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _people(paths: HermesPaths) -> list[str]:
    """The people with memory of their own (`memories/users/<who>/`, made when the agent first saves one)."""
    try:
        return sorted(entry.name for entry in (paths.memories / "users").iterdir() if entry.is_dir())
    except FileNotFoundError:
        return []


def _person(request: web.Request) -> str | None:
    person = request.query.get("person") or None
    if person is not None and person not in _people(dashboard(request).config.paths):
        raise web.HTTPNotFound(text=f"No memory of a person {person!r} under memories/users/.\n")
    return person


def _files(request: web.Request) -> dict[str, MemoryFile]:
    """The owner's three files, or a person's MEMORY.md and USER.md (SOUL.md is the agent's, for everyone)."""
    paths = dashboard(request).config.paths
    person = _person(request)
    if person is None:
        return memory_files(paths)
    folder = paths.memories / "users" / person
    return {
        "MEMORY.md": MemoryFile("MEMORY.md", folder / "MEMORY.md", MEMORY_LIMIT, True),
        "USER.md": MemoryFile("USER.md", folder / "USER.md", USER_LIMIT, True),
    }


async def _editors(request: web.Request, drafts: dict[str, str] | None = None) -> list[dict[str, object]]:
    editors = []
    for name, file in _files(request).items():
        current = await asyncio.to_thread(file.read)
        editors.append(
            {
                "name": name,
                "limit": file.limit,
                "entries": file.entries,
                "text": (drafts or {}).get(name, current),
                "size": file.size(current),
                "base": fingerprint(current),
                "path": str(file.path),
            }
        )
    return editors


def _whose(request: web.Request) -> dict[str, Any]:
    return {"people": _people(dashboard(request).config.paths), "person": _person(request) or ""}


async def page(request: web.Request) -> web.StreamResponse:
    saved = request.query.get("saved")
    notice = f"Saved {saved}." if saved in _files(request) else None
    return render(
        request,
        "memory.html",
        **_whose(request),
        editors=await _editors(request),
        notice=notice,
        problem=None,
        problem_file=None,
    )


async def save(request: web.Request) -> web.StreamResponse:
    files = _files(request)
    name = request.match_info["name"]
    file = files.get(name)
    if file is None:
        raise web.HTTPNotFound(text=f"{name!r}: only MEMORY.md, USER.md and SOUL.md can be edited here.\n")
    form = await request.post()
    draft = str(form.get("text", "")).replace("\r\n", "\n")
    base = str(form.get("base", ""))
    text = file.normalized(draft)
    size = file.size(text)
    current = await asyncio.to_thread(file.read)
    problem = None
    status = 200
    if size > file.limit:
        problem, status = (
            f"{name} would hold {size} chars, over its {file.limit}-char limit; it was not saved.",
            400,
        )
    elif fingerprint(current) != base:
        problem = (
            f"{name} changed since this page was loaded (the agent may have saved a memory); it was not "
            "saved. Your text is still in the editor: copy it, reload to see the new version, and edit again."
        )
        status = 409
    if problem is not None:
        editors = await _editors(request, {name: draft})
        for editor in editors:
            if editor["name"] == name:
                # The stale base stays, so saving again without a reload is refused again.
                editor["base"] = base
        return render(
            request,
            "memory.html",
            **_whose(request),
            http_status=status,
            editors=editors,
            notice=None,
            problem=problem,
            problem_file=name,
        )
    await asyncio.to_thread(write_atomic, file.path, text)
    person = _person(request)
    return redirect(f"/memory?saved={name}" + (f"&person={quote(person)}" if person else ""))


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/memory", page)
    router.add_post("/memory/{name}", save)
