"""`/_fake/...`: scripting and inspecting a fake that runs in another process.

POST /_fake/script    {"turns": [turn, ...]}          queue turns (JSON form of `turns.py`, tagged by "kind")
PUT  /_fake/fallback  {"turn": turn | null}           what unscripted requests get (null: a 400)
GET  /_fake/requests  ?since=N                        recorded requests from index N
POST /_fake/wait      {"count": N, "path"?, "timeout"?}  block until N requests arrived (408 on timeout)
GET  /_fake/state                                     {"pending", "pending_audio", "count"}
POST /_fake/reset                                     forget script and requests
Bad input gets a 400 with {"error": "..."} naming the problem; nothing queued is touched.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import ValidationError

from .turns import Transcription, turn_from_json, turns_from_json

if TYPE_CHECKING:
    from .server import FakeLLM


def add_control_routes(app: web.Application, llm: FakeLLM) -> None:
    async def script(request: web.Request) -> web.Response:
        data = await _json_body(request)
        try:
            turns = turns_from_json(data.get("turns"))
        except ValidationError as err:
            raise _bad(f"invalid turns: {err}") from None
        llm.script(*turns)
        return _reply({"pending": llm.pending, "pending_audio": llm.pending_audio})

    async def fallback(request: web.Request) -> web.Response:
        data = await _json_body(request)
        if "turn" not in data:
            raise _bad('expected {"turn": <turn or null>}')
        try:
            turn = turn_from_json(data["turn"])
        except ValidationError as err:
            raise _bad(f"invalid turn: {err}") from None
        if isinstance(turn, Transcription):
            raise _bad("a transcription cannot answer chat requests")
        llm.fallback = turn  # type: ignore[assignment]
        return _reply({"fallback": data["turn"]})

    async def requests(request: web.Request) -> web.Response:
        since = _int(request.query.get("since", "0"), "since")
        return _reply({"count": llm.request_count, "requests": [r.to_json() for r in llm.requests[since:]]})

    async def wait(request: web.Request) -> web.Response:
        data = await _json_body(request)
        count = data.get("count")
        timeout = data.get("timeout", 5.0)
        path = data.get("path")
        if (
            not isinstance(count, int)
            or not isinstance(timeout, int | float)
            or not isinstance(path, str | None)
        ):
            raise _bad('expected {"count": int, "timeout"?: number, "path"?: str}')
        try:
            found = await llm.wait_for_requests(count, path=path, timeout=timeout)
        except TimeoutError as err:
            return _reply({"error": str(err)}, status=408)
        return _reply({"count": llm.request_count, "requests": [r.to_json() for r in found]})

    async def state(request: web.Request) -> web.Response:
        return _reply(
            {"pending": llm.pending, "pending_audio": llm.pending_audio, "count": llm.request_count}
        )

    async def reset(request: web.Request) -> web.Response:
        llm.reset()
        return _reply({"pending": 0, "count": 0})

    app.router.add_post("/_fake/script", script)
    app.router.add_put("/_fake/fallback", fallback)
    app.router.add_get("/_fake/requests", requests)
    app.router.add_post("/_fake/wait", wait)
    app.router.add_get("/_fake/state", state)
    app.router.add_post("/_fake/reset", reset)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read())
    except ValueError as err:
        raise _bad(f"body is not JSON: {err}") from None
    if not isinstance(data, dict):
        raise _bad("body must be a JSON object")
    return data


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _bad(f"{name} must be an integer, got {value!r}") from None


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


def _reply(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data), content_type="application/json")
