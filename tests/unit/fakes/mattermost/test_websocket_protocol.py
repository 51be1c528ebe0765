"""The WebSocket handshake, request router and keepalive (api4/websocket.go, platform/websocket_router.go)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import msgpack
import pytest

from tests.fakes.mattermost import MattermostEmulator

from .conftest import World
from .support import Harness, Socket, assert_same_shape, fixture


async def test_header_auth_gets_hello_first(h: Harness, world: World) -> None:
    socket = await h.socket(world.bot)
    hello = await socket.frame()
    assert_same_shape(hello, fixture("ws_hello.json"))
    assert (hello["event"], hello["seq"], hello["broadcast"]["user_id"]) == ("hello", 0, world.bot.id)
    assert hello["data"]["server_version"] == h.mm.server_version()
    status = await socket.frame()
    assert (status["event"], status["seq"], status["data"]) == (
        "status_change",
        1,
        {"status": "online", "user_id": world.bot.id},
    )


async def test_challenge_gets_hello_before_the_ok(h: Harness, world: World) -> None:
    socket = await h.socket(world.bot, header=False)
    hello = await socket.frame()
    assert (hello["event"], hello["seq"]) == ("hello", 0)
    assert await socket.frame() == fixture("ws_auth_ok_response.json")


async def test_a_second_challenge_is_ignored(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    await socket.send("authentication_challenge", {"token": h.mm.token_for(world.alice)})
    ping = await socket.send("ping")
    reply = await socket.frame()
    assert reply["seq_reply"] == ping, "the challenge must get no reply at all"
    await h.mm.post_as(world.alice, world.dm, "still the bot's socket")
    assert (await socket.event("posted"))["broadcast"]["channel_id"] == world.dm.id


async def test_bad_or_missing_token_closes_without_a_reply(h: Harness, world: World) -> None:
    bad = await h.socket()
    await bad.send("authentication_challenge", {"token": "x" * 26})
    assert await bad.closed_silently()
    missing = await h.socket()
    await missing.send("authentication_challenge", {})
    assert await missing.closed_silently()


async def test_invalid_header_token_leaves_the_socket_unauthenticated(h: Harness, world: World) -> None:
    ws = await h.session.ws_connect(h.mm.ws_url, headers={"Authorization": "Bearer " + "n" * 26})
    socket = Socket(ws)
    await socket.send("authentication_challenge", {"token": h.mm.token_for(world.bot)})
    assert (await socket.frame())["event"] == "hello"


async def test_query_token_is_refused_before_the_upgrade(h: Harness, world: World) -> None:
    url = f"{h.mm.ws_url}?access_token={h.mm.token_for(world.bot)}"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await h.session.ws_connect(url)
    assert refused.value.status == 401


async def test_nothing_is_answered_before_authentication(h: Harness, world: World) -> None:
    socket = await h.socket()
    await socket.send("ping")
    await socket.send("nonsense")
    await socket.send("", seq=7)
    await socket.send("authentication_challenge", {"token": h.mm.token_for(world.bot)})
    assert (await socket.frame())["event"] == "hello"
    assert (await socket.frame())["status"] == "OK"


async def test_no_authentication_within_the_deadline_closes(h: Harness) -> None:
    socket = await h.socket()
    started = asyncio.get_running_loop().time()
    assert await socket.closed_silently(timeout=2)
    assert asyncio.get_running_loop().time() - started >= h.mm.socket_settings.auth_timeout * 0.9


async def test_seq_is_per_connection_and_responses_carry_none(h: Harness, world: World) -> None:
    first = await h.ready_socket(world.bot)
    ping = await first.send("ping")
    pong = await first.frame()
    assert_same_shape(pong, fixture("ws_ping_response.json"))
    assert (pong["seq_reply"], pong["data"]["text"], pong["data"]["version"]) == (ping, "pong", "9.11.2")
    second = await h.socket(world.bot)
    assert (await second.frame())["seq"] == 0
    await h.mm.post_as(world.alice, world.dm, "to both sockets")
    assert (await first.event("posted"))["seq"] == 2
    assert (await second.event("posted"))["seq"] == 1


async def test_router_errors_after_authentication(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    unknown = await socket.send("teleport")
    failure = await socket.frame()
    assert failure == {**fixture("ws_error_response.json"), "seq_reply": unknown}
    await socket.send("", seq=4)
    no_action = await socket.frame()
    assert (no_action["seq_reply"], no_action["error"]["id"]) == (
        4,
        "api.web_socket_router.no_action.app_error",
    )
    await socket.send("ping", seq=0)
    bad_seq = await socket.frame()
    assert "seq_reply" not in bad_seq
    assert (bad_seq["status"], bad_seq["error"]["id"]) == ("FAIL", "api.web_socket_router.bad_seq.app_error")


async def test_user_typing_action(h: Harness, world: World) -> None:
    alice = await h.ready_socket(world.alice)
    bot = await h.ready_socket(world.bot)
    seq = await bot.send("user_typing", {"channel_id": world.dm.id, "parent_id": ""})
    assert await bot.frame() == {"status": "OK", "seq_reply": seq}
    typing = await alice.event("typing")
    assert typing["data"]["user_id"] == world.bot.id
    refused = await bot.send("user_typing", {"channel_id": world.dm.id[::-1]})
    failure = await bot.frame()
    assert (failure["seq_reply"], failure["error"]["id"]) == (
        refused,
        "api.websocket_handler.invalid_param.app_error",
    )
    assert failure["error"]["message"] == "Invalid channel_id parameter."


async def test_statuses(h: Harness, world: World) -> None:
    bot = await h.ready_socket(world.bot)
    seq = await bot.send("get_statuses")
    assert (await bot.frame())["data"] == {world.bot.id: "online"}
    seq = await bot.send("get_statuses_by_ids", {"user_ids": [world.bot.id, world.alice.id]})
    reply = await bot.frame()
    assert (reply["seq_reply"], reply["data"]) == (seq, {world.bot.id: "online", world.alice.id: "offline"})


async def test_binary_msgpack_requests_are_understood(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    await socket.ws.send_bytes(msgpack.packb({"seq": 9, "action": "ping", "data": {}}))
    assert (await socket.frame())["seq_reply"] == 9


async def test_undecodable_frames_close_the_socket(h: Harness, world: World) -> None:
    for frame in ('{"seq": "1", "action": "ping"}', "not json", '{"seq": 1, "action": "ping", "data": []}'):
        socket = await h.ready_socket(world.bot)
        await socket.ws.send_str(frame)
        assert await socket.closed_silently(), frame


async def test_frames_over_8_kib_close_the_socket(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    await socket.ws.send_str(json.dumps({"seq": 1, "action": "ping", "data": {"pad": "x" * 9000}}))
    message = await socket.ws.receive(timeout=2)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert socket.ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_server_pings_and_drops_a_client_that_never_pongs() -> None:
    async with (
        MattermostEmulator(ping_interval=0.05, pong_wait=0.3) as mm,
        aiohttp.ClientSession() as session,
    ):
        bot, token = mm.create_bot("pinged")
        ws = await session.ws_connect(mm.ws_url, headers={"Authorization": f"Bearer {token}"}, autoping=False)
        seen = []
        while True:
            message = await ws.receive(timeout=2)
            seen.append(message.type)
            if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE):
                break
        assert aiohttp.WSMsgType.PING in seen
        await mm.wait_for_sockets(bot, 0)


async def test_pongs_keep_the_socket_alive_and_client_pings_are_answered() -> None:
    async with (
        MattermostEmulator(ping_interval=0.05, pong_wait=0.2) as mm,
        aiohttp.ClientSession() as session,
    ):
        bot, token = mm.create_bot("ponger")
        ws = await session.ws_connect(mm.ws_url, headers={"Authorization": f"Bearer {token}"}, autoping=False)
        await ws.ping(b"hi")
        pings = 0
        while pings < 8:
            message = await ws.receive(timeout=2)
            if message.type == aiohttp.WSMsgType.PING:
                pings += 1
                await ws.pong(message.data)
            elif message.type == aiohttp.WSMsgType.PONG:
                assert message.data == b"hi"
            else:
                assert message.type == aiohttp.WSMsgType.TEXT
        assert mm.sockets_of(bot) == 1


async def test_trailing_slash_path_also_upgrades(h: Harness, world: World) -> None:
    ws = await h.session.ws_connect(
        h.mm.ws_url + "/", headers={"Authorization": f"Bearer {h.mm.token_for(world.bot)}"}
    )
    assert (await Socket(ws).frame())["event"] == "hello"


async def test_reconnecting_with_a_connection_id_gets_a_fresh_stream(h: Harness, world: World) -> None:
    first = await h.socket(world.bot)
    old_id = (await first.event("hello"))["data"]["connection_id"]
    headers = {"Authorization": f"Bearer {h.mm.token_for(world.bot)}"}
    ws = await h.session.ws_connect(
        f"{h.mm.ws_url}?connection_id={old_id}&sequence_number=1", headers=headers
    )
    hello = await Socket(ws).frame()
    assert (hello["event"], hello["seq"]) == ("hello", 0)
    assert hello["data"]["connection_id"] != old_id
    bad = await h.session.ws_connect(f"{h.mm.ws_url}?connection_id=not-an-id", headers=headers)
    assert await Socket(bad).closed_silently()
