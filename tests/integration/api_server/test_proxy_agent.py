"""`ProxyAgent` against a remote that misbehaves in the ways a network and a foreign server can."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hermes.agent.contract import AgentEvent, Failed, Final, RunRequest, TextDelta
from hermes.config import Settings
from hermes.gateway import proxy
from hermes.gateway.proxy import ProxyAgent
from hermes.store import Store

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST = RunRequest("test:dm:dm-@alice", "hello", "test", "dm")


@pytest.fixture
async def remote() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def serve(handler: Handler) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", handler)
        runner = web.AppRunner(app, handler_cancellation=True)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield serve
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "state.db")
    yield opened
    await opened.close()


@pytest.fixture
def agent_for(store: Store) -> Callable[[str], ProxyAgent]:
    def make(url: str) -> ProxyAgent:
        settings = Settings.model_validate({"gateway": {"proxy_url": url, "proxy_key": "k" * 24}})
        return ProxyAgent(settings, store.sessions)

    return make


async def run(agent: ProxyAgent, cancel: asyncio.Event | None = None) -> list[AgentEvent]:
    try:
        return [event async for event in agent.run(REQUEST, cancel or asyncio.Event())]
    finally:
        await agent.close()


async def sse(request: web.Request, body: bytes) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(body)
    await response.write_eof()
    return response


def chunk(text: str) -> bytes:
    return b'data: {"model": "hermes-agent", "choices": [{"index": 0, "delta": {"content": "%s"}}]}\n\n' % (
        text.encode()
    )


async def test_a_normal_stream(remote: Any, agent_for: Any, store: Store) -> None:
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        await request.read()
        usage = b'data: {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}\n\n'
        return await sse(
            request, b": keep-alive\n\n" + chunk("Hi ") + chunk("there") + usage + b"data: [DONE]\n\n"
        )

    events = await run(agent_for(await remote(handler)))
    assert events[:-1] == [TextDelta("Hi "), TextDelta("there")]
    final = events[-1]
    assert isinstance(final, Final) and final.text == "Hi there"
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (7, 2)
    # The local session key, and the local session's id, which /new changes.
    session = await store.sessions.current("test:dm:dm-@alice")
    assert session is not None
    assert seen[0].headers["X-Hermes-Session-Id"] == f"test:dm:dm-@alice#{session.id}"
    assert seen[0].headers["Authorization"] == "Bearer " + "k" * 24


async def test_garbage_events_are_skipped(remote: Any, agent_for: Any) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(
            request, b"data: {not json\n\n" + b"data: [1, 2]\n\n" + chunk("ok") + b"data: [DONE]\n\n"
        )

    events = await run(agent_for(await remote(handler)))
    assert isinstance(events[-1], Final) and events[-1].text == "ok"


async def test_a_stream_cut_short_fails_with_one_log_line(
    remote: Any, agent_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse(request, chunk("half an ans"))

    with caplog.at_level(logging.WARNING, logger="hermes.gateway.proxy"):
        events = await run(agent_for(await remote(handler)))
    assert events[-1] == Failed(proxy.BROKEN)
    assert len(caplog.records) == 1


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (429, b'{"error": {"message": "busy"}}', proxy.BUSY),
        (500, b"<html>oops</html>", "The agent could not answer (HTTP 500)."),
        (404, b'{"error": {"message": "Invalid URL"}}', "The agent could not answer (HTTP 404)."),
    ],
)
async def test_error_statuses(remote: Any, agent_for: Any, status: int, body: bytes, message: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body)

    [event] = await run(agent_for(await remote(handler)))
    assert isinstance(event, Failed) and event.message == message


async def test_cancel_closes_the_connection_quickly(remote: Any, agent_for: Any) -> None:
    gone = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(chunk("thinking"))
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            gone.set()
            raise
        return response

    agent = agent_for(await remote(handler))
    cancel = asyncio.Event()
    events: list[AgentEvent] = []

    async def consume() -> None:
        try:
            async for event in agent.run(REQUEST, cancel):
                events.append(event)
        finally:
            await agent.close()

    consumer = asyncio.create_task(consume())
    async with asyncio.timeout(5):
        while not events and not consumer.done():
            await asyncio.sleep(0.01)
    cancel.set()
    await asyncio.wait_for(consumer, 1.0)
    assert events[-1] == Failed(proxy.CANCELLED, cancelled=True)
    await asyncio.wait_for(gone.wait(), 2)


async def test_the_model_chosen_for_the_session_is_sent_and_new_sessions_get_new_ids(
    remote: Any, agent_for: Any, store: Store
) -> None:
    seen: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append({"session": request.headers["X-Hermes-Session-Id"], "body": await request.json()})
        return await sse(request, chunk("fine") + b"data: [DONE]\n\n")

    agent = agent_for(await remote(handler))
    try:
        session = await store.sessions.get_or_create(
            REQUEST.session_key, platform="test", chat_id="dm-@alice"
        )
        await store.sessions.set_model_override(session.id, "fast")
        [_ async for _ in agent.run(REQUEST, asyncio.Event())]
        await store.sessions.end_current(REQUEST.session_key)
        [_ async for _ in agent.run(REQUEST, asyncio.Event())]
    finally:
        await agent.close()
    assert [s["body"]["model"] for s in seen] == ["fast", proxy.MODEL]
    assert seen[0]["session"] == f"{REQUEST.session_key}#{session.id}"
    assert seen[1]["session"] != seen[0]["session"]
