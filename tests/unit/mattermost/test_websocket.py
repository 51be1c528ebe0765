"""The WebSocket driver: the challenge, events in order, lost events, dead connections."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from hermes.platforms.mattermost.websocket import AuthenticationRefused, EventStream, StreamClosed
from tests.fakes.mattermost import MattermostEmulator


@pytest.fixture
async def mm() -> AsyncIterator[MattermostEmulator]:
    async with MattermostEmulator() as emulator:
        yield emulator


async def test_the_challenge_gets_hello_and_events_follow_in_order(mm: MattermostEmulator) -> None:
    bot, token = mm.create_bot("hermes")
    alice = mm.create_user("alice")
    dm = mm.direct_channel(alice, bot)
    stream = await EventStream.open(mm.ws_url, token, ping_interval=30)
    try:
        assert stream.hello.connection_id
        assert stream.hello.server_version == mm.server_version()
        await mm.post_as(alice, dm, "one")
        await mm.post_as(alice, dm, "two")
        posted = []
        while len(posted) < 2:
            frame = await stream.next_event()
            if frame["event"] == "posted":
                posted.append(json.loads(frame["data"]["post"])["message"])
    finally:
        await stream.close()
    assert posted == ["one", "two"]


async def test_a_refused_token_is_a_prompt_close(mm: MattermostEmulator) -> None:
    with pytest.raises(AuthenticationRefused):
        async with asyncio.timeout(2):
            await EventStream.open(mm.ws_url, "not-a-token", ping_interval=30)


async def test_pings_are_answered_and_the_stream_lives_on(mm: MattermostEmulator) -> None:
    bot, token = mm.create_bot("hermes")
    alice = mm.create_user("alice")
    dm = mm.direct_channel(alice, bot)
    stream = await EventStream.open(mm.ws_url, token, ping_interval=0.02)
    try:
        async with asyncio.timeout(2):
            while stream.pings_answered < 3:
                await asyncio.sleep(0.01)
        await mm.post_as(alice, dm, "still there?")
        async with asyncio.timeout(2):
            while (await stream.next_event())["event"] != "posted":
                pass
    finally:
        await stream.close()


async def test_a_dropped_socket_ends_the_stream(mm: MattermostEmulator) -> None:
    _, token = mm.create_bot("hermes")
    stream = await EventStream.open(mm.ws_url, token, ping_interval=30)
    mm.drop_sockets()
    with pytest.raises(StreamClosed):
        async with asyncio.timeout(2):
            while True:
                await stream.next_event()
    await stream.close()


Script = Callable[[web.WebSocketResponse], Awaitable[None]]


async def scripted_server(script: Script) -> tuple[web.AppRunner, str]:
    """A WebSocket that says hello to any challenge, then plays `script`."""

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()  # the challenge
        await ws.send_str(json.dumps({"event": "hello", "data": {"connection_id": "c1"}, "seq": 0}))
        await script(ws)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/api/v4/websocket", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"ws://127.0.0.1:{port}/api/v4/websocket"


async def test_replies_and_junk_frames_are_not_events() -> None:
    async def script(ws: web.WebSocketResponse) -> None:
        await ws.send_str(json.dumps({"status": "OK", "seq_reply": 1}))
        await ws.send_str("not json")
        await ws.send_str("[1, 2]")
        await ws.send_bytes(b"\x81\xa3msg")
        await ws.send_str(json.dumps({"event": "posted", "data": {}, "seq": 1}))

    runner, url = await scripted_server(script)
    stream = await EventStream.open(url, "t", ping_interval=30)
    try:
        async with asyncio.timeout(2):
            assert (await stream.next_event())["seq"] == 1
    finally:
        await stream.close()
        await runner.cleanup()


async def test_a_gap_in_seq_means_lost_events() -> None:
    async def script(ws: web.WebSocketResponse) -> None:
        await ws.send_str(json.dumps({"event": "posted", "data": {}, "seq": 2}))

    runner, url = await scripted_server(script)
    stream = await EventStream.open(url, "t", ping_interval=30)
    try:
        with pytest.raises(StreamClosed, match="events lost"):
            async with asyncio.timeout(2):
                await stream.next_event()
    finally:
        await stream.close()
        await runner.cleanup()


async def test_an_unanswered_ping_ends_the_connection() -> None:
    async def silent(ws: web.WebSocketResponse) -> None:
        return None

    runner, url = await scripted_server(silent)
    stream = await EventStream.open(url, "t", ping_interval=0.05)
    try:
        with pytest.raises(StreamClosed, match="no answer to a ping"):
            async with asyncio.timeout(3):
                await stream.next_event()
    finally:
        await stream.close()
        await runner.cleanup()
