"""`/memory`: MEMORY.md, USER.md and SOUL.md in editors with a live count against their limits.

A save is atomic (temp + fsync + rename, as the agent's own writes) and is refused when the file changed
since the page was loaded (the agent saves memories while it runs, an operator may edit by hand): the page
says so, keeps the text typed, and offers a reload. The agent reads the files at every turn, so a save is in
its next prompt.
"""

from __future__ import annotations

import asyncio
import hashlib

from aiohttp import web

from hermes.cli.memory_cmd import MemoryFile, memory_files
from hermes.dashboard.app import dashboard, redirect, render
from hermes.fileio import write_atomic


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _files(request: web.Request) -> dict[str, MemoryFile]:
    return memory_files(dashboard(request).config.paths)


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


async def page(request: web.Request) -> web.StreamResponse:
    saved = request.query.get("saved")
    notice = f"Saved {saved}." if saved in _files(request) else None
    return render(
        request,
        "memory.html",
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
            http_status=status,
            editors=editors,
            notice=None,
            problem=problem,
            problem_file=name,
        )
    await asyncio.to_thread(write_atomic, file.path, text)
    return redirect(f"/memory?saved={name}")


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/memory", page)
    router.add_post("/memory/{name}", save)
