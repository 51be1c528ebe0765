"""`/api/jobs` (API-CONTRACT §13): the scheduler's cron jobs — list, create, read, update, delete, pause,
resume, run now. Reading needs the `read` scope, changing needs `admin`. Errors keep the reference's
`{"error": "<text>"}` shape, which its clients read."""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from hermes.platforms.api_server.auth import caller_of
from hermes.platforms.api_server.backend import JobsPort
from hermes.platforms.api_server.body import read_object
from hermes.platforms.api_server.endpoints import Endpoint, json_response
from hermes.platforms.api_server.errors import ApiError
from hermes.platforms.api_server.runs_api import bool_like

log = logging.getLogger(__name__)

_JOB_ID = re.compile(r"[0-9a-f]{4,32}")


class JobsApi:
    def __init__(self, jobs: JobsPort) -> None:
        self.jobs = jobs

    def endpoints(self) -> list[Endpoint]:
        one = "/api/jobs/{job_id}"
        return [
            Endpoint("jobs", "GET", "/api/jobs", self.list, scope="read"),
            Endpoint("job_create", "POST", "/api/jobs", self.create, scope="admin"),
            Endpoint("job", "GET", one, self.read, scope="read"),
            Endpoint("job_update", "PATCH", one, self.update, scope="admin"),
            Endpoint("job_delete", "DELETE", one, self.delete, scope="admin"),
            Endpoint("job_pause", "POST", f"{one}/pause", self.pause, scope="admin"),
            Endpoint("job_resume", "POST", f"{one}/resume", self.resume, scope="admin"),
            Endpoint("job_run", "POST", f"{one}/run", self.run, scope="admin"),
        ]

    def features(self) -> dict[str, Any]:
        return {"jobs_admin": True}

    async def list(self, request: web.Request) -> web.Response:
        include = bool_like(request.query.get("include_disabled", "false"))
        return json_response({"jobs": await self.jobs.all(include)})

    async def create(self, request: web.Request) -> web.Response:
        body = await _object(request)
        job = await _guard(self.jobs.create(body))
        log.info("api_server: key %s created job %s", caller_of(request).name, job["id"])
        return json_response({"job": job})

    async def read(self, request: web.Request) -> web.Response:
        return json_response({"job": await _guard(self.jobs.get(_job_id(request)))})

    async def update(self, request: web.Request) -> web.Response:
        job_id = _job_id(request)
        body = await _object(request)
        job = await _guard(self.jobs.update(job_id, body))
        log.info(
            "api_server: key %s changed job %s (%s)", caller_of(request).name, job_id, ", ".join(sorted(body))
        )
        return json_response({"job": job})

    async def delete(self, request: web.Request) -> web.Response:
        job_id = _job_id(request)
        await _guard(self.jobs.delete(job_id))
        log.info("api_server: key %s deleted job %s", caller_of(request).name, job_id)
        return json_response({"ok": True})

    async def pause(self, request: web.Request) -> web.Response:
        return json_response({"job": await _guard(self.jobs.pause(_job_id(request)))})

    async def resume(self, request: web.Request) -> web.Response:
        return json_response({"job": await _guard(self.jobs.resume(_job_id(request)))})

    async def run(self, request: web.Request) -> web.Response:
        job_id = _job_id(request)
        job = await _guard(self.jobs.run_now(job_id))
        log.info("api_server: key %s ran job %s", caller_of(request).name, job_id)
        return json_response({"job": job})


class JobError(ApiError):
    """The reference's job errors are `{"error": "<text>"}`, not the OpenAI envelope."""

    def body(self) -> dict[str, Any]:
        return {"error": self.message}


def _job_id(request: web.Request) -> str:
    job_id = request.match_info["job_id"]
    if not _JOB_ID.fullmatch(job_id):
        raise JobError(400, "Invalid job ID format")
    return job_id


async def _object(request: web.Request) -> dict[str, Any]:
    try:
        return await read_object(request)
    except ApiError as error:
        raise JobError(400, error.message) from None


async def _guard(action: Any) -> Any:
    try:
        return await action
    except LookupError:
        raise JobError(404, "Job not found") from None
    except ValueError as exc:
        raise JobError(400, str(exc)) from None
