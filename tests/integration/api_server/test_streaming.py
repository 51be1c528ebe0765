"""SSE on the wire: OpenAI's chunk format, keep-alives, tool progress events, and a client that goes away."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.fakes.llm import Call, Stall, Text, ToolCalls

from .conftest import ClientWatch, Server, auth, sse_events

HEADER = "X-Hermes-Session-Id"


def body(stream: bool = True, **fields: Any) -> dict[str, Any]:
    return {
        "model": "hermes-agent",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": stream,
        **fields,
    }


async def test_stream_is_openai_chunks_ending_with_done(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Text("streamed words here"))
    async with http.post(f"{server.base_url}/chat/completions", json=body(), headers=auth()) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers[HEADER]
        text = await response.text()
    events = sse_events(text)
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "streamed words here"
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert "usage" not in chunks[0]


async def test_tool_progress_is_a_named_event(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(ToolCalls([Call("todo", {"todos": []})]), Text("done"))
    async with http.post(f"{server.base_url}/chat/completions", json=body(), headers=auth()) as response:
        events = sse_events(await response.text())
    progress = [json.loads(data) for name, data in events if name == "hermes.tool.progress"]
    assert [p["status"] for p in progress] == ["running", "completed"]
    assert {p["tool"] for p in progress} == {"todo"}
    assert progress[1]["ok"] is True
    assert progress[0]["toolCallId"] == progress[1]["toolCallId"]


async def test_keepalive_comments_while_the_agent_is_quiet(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server: Server = await start_server(keepalive_seconds=0.05)
    server.llm.script(Text("finally", delay=0.4))
    async with http.post(f"{server.base_url}/chat/completions", json=body(), headers=auth()) as response:
        assert response.status == 200
        text = await response.text()
    assert text.count(": keep-alive\n\n") >= 3
    events = sse_events(text)
    assert events[-1] == (None, "[DONE]")
    # The role chunk still comes first, before the first keep-alive.
    assert text.startswith("data: ")
    assert (
        "".join(json.loads(d)["choices"][0]["delta"].get("content") or "" for _, d in events[:-1])
        == "finally"
    )


async def test_keepalive_does_not_break_the_openai_client(start_server: Any) -> None:
    server: Server = await start_server(keepalive_seconds=0.05)
    server.llm.script(Text("patience pays", delay=0.3))
    stream = await server.client().chat.completions.create(
        model="hermes-agent", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "patience pays"


async def test_disconnect_during_a_stream_cancels_the_run(
    server: Server, http: aiohttp.ClientSession, client_watch: ClientWatch
) -> None:
    server.llm.script(Stall(seconds=60, after=2, reply=Text("one two three four")))
    response = await http.post(
        f"{server.base_url}/chat/completions", json=body(), headers=auth(**{HEADER: "leaver"})
    )
    assert response.status == 200
    await response.content.readuntil(b"\n\n")
    assert server.runs_in_flight() == 1
    response.close()
    await client_watch.wait_gone()
    await server.idle()
    # The session is free again at once, although the stalled answer had a minute to go.
    server.llm.script(Text("back"))
    completion = await asyncio.wait_for(
        server.client().chat.completions.create(
            model="hermes-agent",
            messages=[{"role": "user", "content": "still there?"}],
            extra_headers={HEADER: "leaver"},
        ),
        5,
    )
    assert completion.choices[0].message.content == "back"


async def test_disconnect_before_a_json_answer_cancels_the_run(
    server: Server, http: aiohttp.ClientSession, client_watch: ClientWatch
) -> None:
    server.llm.script(Stall(seconds=60))
    request = asyncio.create_task(
        http.post(f"{server.base_url}/chat/completions", json=body(stream=False), headers=auth())
    )
    await server.llm.wait_for_requests(1)
    assert server.hub.runs_in_flight == 1
    request.cancel()
    await asyncio.gather(request, return_exceptions=True)
    await client_watch.wait_gone()
    await server.idle()
    assert server.hub.runs_in_flight == 0


async def test_stop_lets_a_run_in_flight_finish_and_refuses_new_connections(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server: Server = await start_server(shutdown_grace_seconds=5)
    server.llm.script(Text("finished despite the stop", delay=0.3))
    url = server.url
    answer = asyncio.create_task(server.client().chat.completions.create(**body(stream=False)))
    await server.llm.wait_for_requests(1)
    stopping = asyncio.create_task(server.platform.stop())
    completion = await answer
    assert completion.choices[0].message.content == "finished despite the stop"
    await stopping
    try:
        async with http.get(f"{url}/health") as response:
            raise AssertionError(f"a stopped server answered {response.status}")
    except aiohttp.ClientConnectionError:
        pass


async def test_stop_cancels_runs_past_the_grace_period(start_server: Any) -> None:
    server: Server = await start_server(shutdown_grace_seconds=0.2)
    server.llm.script(Stall(seconds=60))
    answer = asyncio.create_task(server.client().chat.completions.create(**body(stream=False)))
    await server.llm.wait_for_requests(1)
    await asyncio.wait_for(server.platform.stop(), 5)
    await asyncio.gather(answer, return_exceptions=True)
    await server.idle()
