"""`/skills`: every skill under HERMES_HOME/skills with its description, and each SKILL.md to read."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hermes.agent.skills import Skill
from hermes.dashboard.app import dashboard, render


async def _skills(request: web.Request) -> list[Skill]:
    return await asyncio.to_thread(dashboard(request).skills.scan)


async def page(request: web.Request) -> web.StreamResponse:
    return render(request, "skills.html", skills=await _skills(request), skill=None, body=None)


async def view(request: web.Request) -> web.StreamResponse:
    category, name = request.match_info["category"], request.match_info["name"]
    for skill in await _skills(request):
        if skill.category == category and skill.path.parent.name == name:
            body = await asyncio.to_thread(skill.path.read_text, encoding="utf-8", errors="replace")
            return render(request, "skills.html", skills=[], skill=skill, body=body)
    raise web.HTTPNotFound(text=f"No skill {category}/{name}.\n")


def routes(router: web.UrlDispatcher) -> None:
    router.add_get("/skills", page)
    router.add_get("/skills/{category}/{name}", view)
