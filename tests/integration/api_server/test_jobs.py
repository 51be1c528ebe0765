"""`/api/jobs` (API-CONTRACT §13) over the scheduler's own jobs: list, create, read, update, delete, pause,
resume, run; reading needs `read`, changing needs `admin`; errors in the reference's `{"error": …}` shape."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from .conftest import KEY, Server, auth


async def call(
    http: aiohttp.ClientSession, server: Server, method: str, path: str, body: Any = None, key: str = KEY
) -> tuple[int, Any]:
    async with http.request(method, f"{server.url}{path}", json=body, headers=auth(key)) as response:
        return response.status, await response.json()


NEW = {
    "name": "Morning news",
    "schedule": "0 9 * * *",
    "prompt": "Summarise the news.",
    "deliver": "home:matrix",
}


async def test_the_job_lifecycle(server: Server, http: aiohttp.ClientSession) -> None:
    status, created = await call(http, server, "POST", "/api/jobs", NEW)
    assert status == 200
    job = created["job"]
    assert (job["name"], job["schedule"], job["deliver"], job["enabled"]) == (
        "Morning news",
        "0 9 * * *",
        "home:matrix",
        True,
    )
    assert job["next_run_at"] is not None and job["schedule_display"]
    stored = await server.store.jobs.get(job["id"])
    assert stored is not None and stored.prompt == "Summarise the news."
    _, listed = await call(http, server, "GET", "/api/jobs")
    assert [j["id"] for j in listed["jobs"]] == [job["id"]]
    _, paused = await call(http, server, "POST", f"/api/jobs/{job['id']}/pause")
    assert paused["job"]["state"] == "paused"
    assert (await call(http, server, "GET", "/api/jobs"))[1]["jobs"] == []
    assert len((await call(http, server, "GET", "/api/jobs?include_disabled=true"))[1]["jobs"]) == 1
    assert (await call(http, server, "POST", f"/api/jobs/{job['id']}/run"))[0] == 400
    _, resumed = await call(http, server, "POST", f"/api/jobs/{job['id']}/resume")
    assert resumed["job"]["enabled"] is True
    _, changed = await call(
        http, server, "PATCH", f"/api/jobs/{job['id']}", {"name": "News", "schedule": "every 2h"}
    )
    assert changed["job"]["name"] == "News" and changed["job"]["schedule_kind"] == "interval"
    _, ran = await call(http, server, "POST", f"/api/jobs/{job['id']}/run")
    stored = await server.store.jobs.get(job["id"])
    assert stored is not None and stored.next_run_at is not None and ran["job"]["id"] == job["id"]
    assert await call(http, server, "DELETE", f"/api/jobs/{job['id']}") == (200, {"ok": True})
    assert await call(http, server, "GET", f"/api/jobs/{job['id']}") == (404, {"error": "Job not found"})


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({**NEW, "schedule": "whenever"}, "whenever"),
        ({**NEW, "name": ""}, "name"),
        ({**NEW, "deliver": "nowhere"}, "nowhere"),
        ({**NEW, "prompt": "x" * 5001}, "prompt"),
        ([], "JSON object"),
    ],
)
async def test_bad_jobs_are_400_with_a_reason(
    server: Server, http: aiohttp.ClientSession, body: Any, words: str
) -> None:
    status, error = await call(http, server, "POST", "/api/jobs", body)
    assert status == 400 and words in error["error"]
    assert await server.store.jobs.all() == []


async def test_bad_ids_and_unknown_fields(server: Server, http: aiohttp.ClientSession) -> None:
    assert await call(http, server, "GET", "/api/jobs/NOT-HEX") == (400, {"error": "Invalid job ID format"})
    _, created = await call(http, server, "POST", "/api/jobs", NEW)
    status, error = await call(http, server, "PATCH", f"/api/jobs/{created['job']['id']}", {"model": "x"})
    assert status == 400 and "model" in error["error"]


async def test_capabilities_advertise_jobs(server: Server, http: aiohttp.ClientSession) -> None:
    _, body = await call(http, server, "GET", "/v1/capabilities")
    assert body["features"]["jobs_admin"] is True
    assert body["endpoints"]["jobs"] == {"method": "GET", "path": "/api/jobs"}
