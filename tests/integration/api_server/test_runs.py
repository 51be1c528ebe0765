"""`/v1/runs` (API-CONTRACT §9) over raw HTTP: 202 and polling, every lifecycle event as SSE, several
followers, reconnecting with `Last-Event-ID`, stop, and a tool approved over the API while its run
streams."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.fakes.llm import Call, Error, Stall, Text, ToolCalls

from .conftest import Server, auth

COMMAND = "echo ran > marker.txt && cat marker.txt"


async def start_run(http: aiohttp.ClientSession, server: Server, **body: Any) -> str:
    async with http.post(f"{server.url}/v1/runs", json={"input": "hi", **body}, headers=auth()) as response:
        assert response.status == 202, await response.text()
        answer = await response.json()
    assert answer["status"] == "started" and answer["run_id"].startswith("run_")
    return answer["run_id"]


def parse_events(text: str) -> list[tuple[int, dict[str, Any]]]:
    events = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        ids = [line[4:] for line in lines if line.startswith("id: ")]
        data = [line[6:] for line in lines if line.startswith("data: ")]
        if data:
            events.append((int(ids[0]), json.loads(data[0])))
    return events


async def follow(http: aiohttp.ClientSession, server: Server, run_id: str, **headers: str) -> str:
    async with http.get(f"{server.url}/v1/runs/{run_id}/events", headers=auth(**headers)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        return await response.text()


async def status(http: aiohttp.ClientSession, server: Server, run_id: str) -> dict[str, Any]:
    async with http.get(f"{server.url}/v1/runs/{run_id}", headers=auth()) as response:
        assert response.status == 200
        return await response.json()


async def test_a_run_streams_its_events_and_reports_its_output(
    server: Server, http: aiohttp.ClientSession
) -> None:
    server.llm.script(ToolCalls([Call("todo", {"todos": []})]), Text("All done."))
    run_id = await start_run(http, server, model="hermes")
    text = await follow(http, server, run_id)
    assert text.endswith(": stream closed\n\n")
    events = parse_events(text)
    names = [data["event"] for _, data in events]
    assert names[:2] == ["tool.started", "tool.completed"]
    assert names[-1] == "run.completed" and "message.delta" in names
    assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
    assert all(data["run_id"] == run_id and isinstance(data["timestamp"], float) for _, data in events)
    completed = events[-1][1]
    assert completed["output"] == "All done."
    assert (
        completed["usage"]["total_tokens"]
        == completed["usage"]["input_tokens"] + completed["usage"]["output_tokens"]
    )
    assert events[1][1]["error"] is False and events[1][1]["duration"] >= 0
    body = await status(http, server, run_id)
    assert body["object"] == "hermes.run" and body["status"] == "completed"
    assert body["output"] == "All done." and body["model"] == "hermes"
    assert body["last_event"] == "run.completed" and body["session_id"] == run_id


async def test_several_followers_and_a_reconnect_miss_nothing(
    server: Server, http: aiohttp.ClientSession
) -> None:
    server.llm.script(Text("one two three four five", delay=0.2))
    run_id = await start_run(http, server)
    first, second = await asyncio.gather(follow(http, server, run_id), follow(http, server, run_id))
    assert parse_events(first) == parse_events(second)
    events = parse_events(first)
    # A client that saw the first two events reconnects and gets exactly the rest.
    rest = parse_events(await follow(http, server, run_id, **{"Last-Event-ID": str(events[1][0])}))
    assert rest == events[2:]


async def test_a_run_continues_its_session(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Text("Hello Ada."), Text("You are Ada."))
    first = await start_run(http, server, input="I am Ada.", session_id="people-1")
    await follow(http, server, first)
    second = await start_run(http, server, input="Who am I?", session_id="people-1")
    await follow(http, server, second)
    users = [m["content"] for m in server.llm.chat_requests[-1].messages if m["role"] == "user"]
    assert users == ["I am Ada.", "Who am I?"]
    assert (await status(http, server, second))["session_id"] == "people-1"


async def test_stop_cancels_a_run(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Stall(seconds=30))
    run_id = await start_run(http, server)
    await server.llm.wait_for_requests(1)
    async with http.post(f"{server.url}/v1/runs/{run_id}/stop", headers=auth()) as response:
        assert response.status == 200
        assert await response.json() == {"run_id": run_id, "status": "stopping"}
    events = parse_events(await follow(http, server, run_id))
    assert events[-1][1]["event"] == "run.cancelled"
    assert (await status(http, server, run_id))["status"] == "cancelled"
    async with http.post(f"{server.url}/v1/runs/{run_id}/stop", headers=auth()) as response:
        assert response.status == 404


async def test_a_failed_run_is_reported_failed(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Error(400, "bad model"))
    run_id = await start_run(http, server)
    events = parse_events(await follow(http, server, run_id))
    assert events[-1][1]["event"] == "run.failed" and "bad model" in events[-1][1]["error"]
    body = await status(http, server, run_id)
    assert body["status"] == "failed" and "bad model" in body["error"] and "output" not in body


@pytest.mark.parametrize(("choice", "ran"), [("once", True), ("deny", False)])
async def test_a_tool_approved_over_the_api_while_its_run_streams(
    start_server: Any, http: aiohttp.ClientSession, choice: str, ran: bool
) -> None:
    server: Server = await start_server(config={"tools": {"terminal": {"enabled": True}}})
    server.llm.script(ToolCalls([Call("terminal", {"command": COMMAND})]), Text("Finished."))
    run_id = await start_run(http, server, input="run it")
    seen: list[dict[str, Any]] = []
    async with http.get(f"{server.url}/v1/runs/{run_id}/events", headers=auth()) as response:
        buffer = ""
        async for raw in response.content.iter_any():
            buffer += raw.decode()
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                for _, data in parse_events(block + "\n\n"):
                    seen.append(data)
                    if data["event"] == "approval.request":
                        assert data["command"] == COMMAND and data["id"]
                        assert (await status(http, server, run_id))["status"] == "waiting_for_approval"
                        async with http.post(
                            f"{server.url}/v1/runs/{run_id}/approval", json={"choice": choice}, headers=auth()
                        ) as answer:
                            assert answer.status == 200
                            assert await answer.json() == {
                                "object": "hermes.run.approval_response",
                                "run_id": run_id,
                                "choice": choice,
                                "resolved": 1,
                            }
    names = [data["event"] for data in seen]
    assert names[0] == "tool.started"
    assert names[1:3] == ["approval.request", "approval.responded"]
    assert names[-1] == "run.completed"
    assert (server.home / "workspace" / "marker.txt").exists() is ran


async def test_approval_and_lookup_errors(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Text("quick"))
    run_id = await start_run(http, server)
    await follow(http, server, run_id)
    url = f"{server.url}/v1/runs/{run_id}/approval"
    async with http.post(url, json={"choice": "maybe"}, headers=auth()) as response:
        assert (
            response.status == 400 and (await response.json())["error"]["code"] == "invalid_approval_choice"
        )
    async with http.post(url, json={"choice": "once"}, headers=auth()) as response:
        assert response.status == 409 and (await response.json())["error"]["code"] == "approval_not_active"
    for path in ("", "/events"):
        async with http.get(f"{server.url}/v1/runs/run_nope{path}", headers=auth()) as response:
            assert response.status == 404 and (await response.json())["error"]["code"] == "run_not_found"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([1, 2], None),
        ({}, "input"),
        ({"input": [{"role": "user", "content": "a"}, 5]}, "input[1]"),
        ({"input": "hi", "session_id": "has space"}, "session_id"),
        ({"input": "hi", "session_id": 5}, "session_id"),
        ({"input": "hi", "previous_response_id": "resp_unknown"}, "previous_response_id"),
    ],
)
async def test_bad_run_requests_are_refused_clearly(
    server: Server, http: aiohttp.ClientSession, body: Any, param: str | None
) -> None:
    async with http.post(f"{server.url}/v1/runs", json=body, headers=auth()) as response:
        assert response.status in (400, 404)
        error = (await response.json())["error"]
    assert error["param"] == param
    assert server.llm.chat_requests == []


async def test_an_unanswered_approval_times_out_and_the_run_goes_on(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server: Server = await start_server(
        config={"tools": {"terminal": {"enabled": True, "approval_timeout_seconds": 0.3}}}
    )
    server.llm.script(ToolCalls([Call("terminal", {"command": COMMAND})]), Stall(seconds=30))
    run_id = await start_run(http, server, input="run it")
    await server.llm.wait_for_requests(2)
    body = await status(http, server, run_id)
    # Not stuck in waiting_for_approval (§17.23): the question timed out, the run went on.
    assert body["status"] == "running" and body["last_event"] == "tool.completed"
    async with http.post(
        f"{server.url}/v1/runs/{run_id}/approval", json={"choice": "once"}, headers=auth()
    ) as response:
        assert response.status == 409 and (await response.json())["error"]["code"] == "approval_not_pending"
    assert not (server.home / "workspace" / "marker.txt").exists()
    async with http.post(f"{server.url}/v1/runs/{run_id}/stop", headers=auth()) as response:
        assert response.status == 200
    await follow(http, server, run_id)


async def test_runs_share_the_cap_on_concurrent_runs(start_server: Any, http: aiohttp.ClientSession) -> None:
    server: Server = await start_server(api_server={"max_concurrent_runs": 1})
    server.llm.script(Stall(seconds=30))
    run_id = await start_run(http, server)
    await server.llm.wait_for_requests(1)
    for path, body in (
        ("/v1/runs", {"input": "more"}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]}),
    ):
        async with http.post(f"{server.url}{path}", json=body, headers=auth()) as response:
            assert response.status == 429 and response.headers["Retry-After"] == "1"
    async with http.post(f"{server.url}/v1/runs/{run_id}/stop", headers=auth()) as response:
        assert response.status == 200
    await follow(http, server, run_id)
    assert server.runs_in_flight() == 0
    assert server.platform.runs is not None and server.platform.runs.registry.live() == []
