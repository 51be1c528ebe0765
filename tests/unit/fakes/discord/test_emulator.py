"""The Discord emulator held to reference/discord/SERVICE-BEHAVIOUR.md, through raw HTTP and WebSocket
clients (not our adapter), on every point the adapter relies on."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.discord import DiscordEmulator
from tests.fakes.discord.model import GATEWAY_MESSAGE_CONTENT
from tests.fakes.discord.snowflakes import snowflake_ms

GUILDS, GUILD_MESSAGES, DIRECT_MESSAGES, MESSAGE_CONTENT = 1, 1 << 9, 1 << 12, 1 << 15
INTENTS = GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT


@pytest.fixture
async def dc() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(heartbeat_interval_ms=45_000) as emulator:
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class World:
    def __init__(self, dc: DiscordEmulator) -> None:
        self.bot, self.token = dc.create_bot("hermes")
        self.alice = dc.create_user("alice")
        self.guild = dc.create_guild("core", [self.alice, self.bot])
        self.general = dc.create_channel(self.guild, "general")
        self.dm = dc.dm_channel(self.alice)


@pytest.fixture
def world(dc: DiscordEmulator) -> World:
    return World(dc)


async def call(
    http: aiohttp.ClientSession,
    dc: DiscordEmulator,
    method: str,
    path: str,
    token: str | None,
    body: Any = None,
) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
    headers = {"Authorization": f"Bot {token}"} if token else {}
    async with http.request(method, dc.url + path, json=body, headers=headers) as response:
        raw = await response.read()
        return response.status, json.loads(raw) if raw else None, response.headers


async def gateway(dc: DiscordEmulator, http: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    return await http.ws_connect(f"{dc.gateway_url}/?v=10&encoding=json")


async def identify(ws: aiohttp.ClientWebSocketResponse, token: str, intents: int = INTENTS) -> dict[str, Any]:
    hello = await ws.receive_json()
    assert hello == {"op": 10, "d": {"heartbeat_interval": 45_000}, "s": None, "t": None}
    await ws.send_json({"op": 2, "d": {"token": token, "intents": intents, "properties": {}}})
    return await ws.receive_json()


async def next_dispatch(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(2):
        while True:
            payload = await ws.receive_json()
            if payload.get("t") == kind:
                return payload


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    async with asyncio.timeout(2):
        while not ws.closed:
            message = await ws.receive()
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                break
    return ws.close_code


# -- REST ------------------------------------------------------------------------------------------------


async def test_json_responses_carry_the_bare_content_type_and_401_its_body(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    status, body, headers = await call(http, dc, "GET", "/users/@me", world.token)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body["id"] == world.bot.id and isinstance(body["id"], str) and body["bot"] is True
    status, body, headers = await call(http, dc, "GET", "/users/@me", "wrong")
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
    assert headers["Content-Type"] == "application/json"


async def test_gateway_bot_names_the_gateway_url(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    status, body, _ = await call(http, dc, "GET", "/gateway/bot", world.token)
    assert status == 200 and body["url"] == dc.gateway_url
    assert set(body["session_start_limit"]) == {"total", "remaining", "reset_after", "max_concurrency"}


async def test_ids_are_time_ordered_snowflake_strings(dc: DiscordEmulator, world: World) -> None:
    first = await dc.post_as(world.alice, world.general, "a")
    second = await dc.post_as(world.alice, world.general, "b")
    assert int(second.id) > int(first.id)
    wire = dc.world.message_wire(second)
    assert isinstance(wire["id"], str)
    assert abs(snowflake_ms(second.id) / 1000 - time.time()) < 5


async def test_content_over_2000_characters_gets_the_50035_body(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    path = f"/channels/{world.dm.id}/messages"
    status, body, _ = await call(http, dc, "POST", path, world.token, {"content": "x" * 2001})
    assert status == 400
    assert body == {
        "code": 50035,
        "message": "Invalid Form Body",
        "errors": {
            "content": {
                "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]
            }
        },
    }
    status, _, _ = await call(http, dc, "POST", path, world.token, {"content": "x" * 2000})
    assert status == 200


async def test_error_codes_for_empty_unknown_and_foreign(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    assert (await call(http, dc, "POST", f"/channels/{world.dm.id}/messages", world.token, {"content": ""}))[
        1
    ]["code"] == 50006
    assert (await call(http, dc, "GET", "/channels/1234/messages", world.token))[:2] == (
        404,
        {"message": "Unknown Channel", "code": 10003},
    )
    assert (await call(http, dc, "GET", f"/channels/{world.dm.id}/messages/99", world.token))[1][
        "code"
    ] == 10008
    theirs = await dc.post_as(world.alice, world.dm, "mine")
    status, body, _ = await call(
        http, dc, "PATCH", f"/channels/{world.dm.id}/messages/{theirs.id}", world.token, {"content": "x"}
    )
    assert (status, body["code"]) == (403, 50005)
    status, body, _ = await call(
        http, dc, "PUT", f"/channels/{world.dm.id}/messages/{theirs.id}/reactions/abc/@me", world.token
    )
    assert (status, body["code"]) == (400, 10014)


async def test_rate_limit_headers_come_as_a_set_and_429s_as_discord_sends_them(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    path = f"/channels/{world.dm.id}/messages"
    statuses = []
    for _ in range(6):
        status, body, headers = await call(http, dc, "POST", path, world.token, {"content": "hi"})
        statuses.append(status)
        if status == 200:
            for name in ("Limit", "Remaining", "Reset", "Reset-After", "Bucket"):
                assert f"X-RateLimit-{name}" in headers
    assert statuses == [200] * 5 + [429]
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert body["retry_after"] > 0 and headers["Via"] and headers["X-RateLimit-Scope"] == "user"
    dc.force_429(global_=True)
    status, body, headers = await call(http, dc, "GET", "/users/@me", world.token)
    assert status == 429 and body["global"] is True and headers["X-RateLimit-Global"] == "true"


async def test_mentions_follow_the_tokens_and_allowed_mentions(dc: DiscordEmulator, world: World) -> None:
    bob = dc.create_user("bob")
    dc.world.guilds[world.guild.id].members[bob.id] = []
    role = dc.add_role(world.guild, "ops", [bob])
    text = f"<@{bob.id}> <@!{world.bot.id}> <@&{role}> <@123> @everyone"
    message = await dc.post_as(world.alice, world.general, text)
    assert message.mentions == [bob.id, world.bot.id] and message.mention_roles == [role]
    assert message.mention_everyone is True
    quiet = await dc.post_as(world.alice, world.general, text, allowed_mentions={"parse": []})
    assert (quiet.mentions, quiet.mention_roles, quiet.mention_everyone) == ([], [], False)
    reply = await dc.post_as(bob, world.general, "answer", reply_to=message)
    assert reply.type == 19 and reply.mentions == [world.alice.id]
    wire = dc.world.message_wire(reply)
    assert (
        wire["referenced_message"]["id"] == message.id
        and wire["message_reference"]["message_id"] == message.id
    )


async def test_enforce_nonce_returns_the_first_message_and_dispatches_once(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    ws = await gateway(dc, http)
    await identify(ws, world.token)
    path = f"/channels/{world.dm.id}/messages"
    body = {"content": "once", "nonce": "abc", "enforce_nonce": True}
    first = (await call(http, dc, "POST", path, world.token, body))[1]
    second = (await call(http, dc, "POST", path, world.token, body))[1]
    assert first["id"] == second["id"] and first["nonce"] == "abc"
    loose = (await call(http, dc, "POST", path, world.token, {"content": "once", "nonce": "abc"}))[1]
    assert loose["id"] != first["id"]  # without enforce_nonce the nonce is only echoed
    too_long = await call(http, dc, "POST", path, world.token, {**body, "nonce": "x" * 26})
    assert too_long[0] == 400
    creates = []
    async with asyncio.timeout(1):
        while len(creates) < 2:
            payload = await ws.receive_json()
            if payload.get("t") == "MESSAGE_CREATE":
                creates.append(payload["d"]["id"])
    assert creates == [first["id"], loose["id"]]
    await ws.close()


async def test_a_thread_on_a_message_has_the_messages_id_and_only_one_exists(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    ws = await gateway(dc, http)
    await identify(ws, world.token)
    message = await dc.post_as(world.alice, world.general, "start here")
    path = f"/channels/{world.general.id}/messages/{message.id}/threads"
    status, thread, _ = await call(
        http, dc, "POST", path, world.token, {"name": "topic", "auto_archive_duration": 1440}
    )
    assert status == 200 and thread["id"] == message.id and thread["type"] == 11
    assert thread["parent_id"] == world.general.id and "thread_metadata" in thread
    created = await next_dispatch(ws, "THREAD_CREATE")
    assert created["d"]["newly_created"] is True
    updated = await next_dispatch(ws, "MESSAGE_UPDATE")
    assert updated["d"]["thread"]["id"] == message.id
    again = await call(http, dc, "POST", path, world.token, {"name": "topic"})
    assert again[1]["code"] == 160004
    await ws.close()


async def test_interactions_are_acknowledged_once(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    commands = [{"name": "help", "description": "show help", "type": 1}]
    status, _, _ = await call(http, dc, "PUT", f"/applications/{dc.app.id}/commands", world.token, commands)
    assert status == 200 and dc.app.command_writes == 1
    interaction = await dc.interact_as(world.alice, world.general, "help")
    wire = dc.world.interaction_wire(interaction)
    for key in (
        "id",
        "type",
        "token",
        "version",
        "application_id",
        "attachment_size_limit",
        "member",
        "data",
    ):
        assert key in wire
    path = f"/interactions/{interaction.id}/{interaction.token}/callback"
    assert (await call(http, dc, "POST", path, None, {"type": 5, "data": {"flags": 64}}))[0] == 204
    assert (await call(http, dc, "POST", path, None, {"type": 5}))[1]["code"] == 40060
    with pytest.raises(ValueError):
        await dc.interact_as(world.alice, world.general, "unregistered")


async def test_attachments_are_served_at_their_url_without_auth(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    message = await dc.post_as(world.alice, world.dm, "file", files=[("a.txt", "text/plain", b"data")])
    url = dc.world.message_wire(message)["attachments"][0]["url"]
    async with http.get(url) as response:
        assert response.status == 200 and await response.read() == b"data"
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps({"content": "up"}), content_type="application/json")
    form.add_field("files[0]", b"bytes", filename="b.bin", content_type="application/octet-stream")
    headers = {"Authorization": f"Bot {world.token}"}
    async with http.post(f"{dc.url}/channels/{world.dm.id}/messages", data=form, headers=headers) as response:
        body = await response.json(content_type=None)
    assert body["attachments"][0]["filename"] == "b.bin" and body["attachments"][0]["size"] == 5


# -- the Gateway -----------------------------------------------------------------------------------------


async def test_identify_gets_ready_then_guild_create_with_sequence_numbers(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    ws = await gateway(dc, http)
    ready = await identify(ws, world.token)
    assert (ready["op"], ready["t"], ready["s"]) == (0, "READY", 1)
    data = ready["d"]
    assert data["session_id"] and data["resume_gateway_url"] == dc.gateway_url
    assert data["application"] == {"id": dc.app.id, "flags": dc.app.flags}
    assert data["guilds"] == [{"id": world.guild.id, "unavailable": True}]
    guild = await ws.receive_json()
    assert (guild["t"], guild["s"]) == ("GUILD_CREATE", 2)
    assert [c["id"] for c in guild["d"]["channels"]] == [world.general.id]
    await ws.send_bytes(json.dumps({"op": 1, "d": 2}).encode())  # binary frames are accepted too
    assert await ws.receive_json() == {"op": 11, "d": None, "s": None, "t": None}
    await ws.send_json({"op": 2, "d": {"token": world.token, "intents": INTENTS}})
    assert await closed_with(ws) == 4005


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"op": 3, "d": {}}, 4003),
        ({"op": 99, "d": None}, 4001),
        ({"op": 2, "d": {"token": "wrong", "intents": INTENTS}}, 4004),
        ({"op": 2, "d": {"token": "TOKEN", "intents": 1 << 40}}, 4013),
    ],
)
async def test_bad_payloads_close_with_the_documented_codes(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World, payload: dict[str, Any], code: int
) -> None:
    ws = await gateway(dc, http)
    await ws.receive_json()
    if payload["op"] == 2 and payload["d"]["token"] == "TOKEN":
        payload["d"]["token"] = world.token
    await ws.send_json(payload)
    assert await closed_with(ws) == code


async def test_a_privileged_intent_the_portal_has_not_enabled_closes_4014(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    dc.app.flags &= ~GATEWAY_MESSAGE_CONTENT
    ws = await gateway(dc, http)
    await ws.receive_json()
    await ws.send_json({"op": 2, "d": {"token": world.token, "intents": INTENTS}})
    assert await closed_with(ws) == 4014
    ws = await gateway(dc, http)
    assert (await identify(ws, world.token, INTENTS & ~MESSAGE_CONTENT))["t"] == "READY"
    await ws.close()


async def test_without_message_content_only_dms_and_mentions_keep_their_content(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    ws = await gateway(dc, http)
    await identify(ws, world.token, INTENTS & ~MESSAGE_CONTENT)
    await dc.post_as(world.alice, world.general, "plain", files=[("a.txt", "text/plain", b"x")])
    plain = await next_dispatch(ws, "MESSAGE_CREATE")
    assert (plain["d"]["content"], plain["d"]["attachments"]) == ("", [])
    await dc.post_as(world.alice, world.general, f"<@{world.bot.id}> hi")
    assert (await next_dispatch(ws, "MESSAGE_CREATE"))["d"]["content"] == f"<@{world.bot.id}> hi"
    await dc.post_as(world.alice, world.dm, "private")
    dm = await next_dispatch(ws, "MESSAGE_CREATE")
    assert dm["d"]["content"] == "private" and "guild_id" not in dm["d"] and "member" not in dm["d"]
    await ws.close()


async def test_resume_replays_what_was_missed_then_resumed(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    ws = await gateway(dc, http)
    ready = await identify(ws, world.token)
    seq = (await ws.receive_json())["s"]  # GUILD_CREATE
    dc.drop_gateway()
    await closed_with(ws)
    await dc.post_as(world.alice, world.dm, "missed one")
    await dc.post_as(world.alice, world.dm, "missed two")
    ws = await gateway(dc, http)
    await ws.receive_json()
    resume = {"token": world.token, "session_id": ready["d"]["session_id"], "seq": seq}
    await ws.send_json({"op": 6, "d": resume})
    replayed = [await ws.receive_json() for _ in range(3)]
    assert [p["t"] for p in replayed] == ["MESSAGE_CREATE", "MESSAGE_CREATE", "RESUMED"]
    assert [p["s"] for p in replayed] == [seq + 1, seq + 2, seq + 3]
    assert [p["d"]["content"] for p in replayed[:2]] == ["missed one", "missed two"]
    await ws.close()
    ws = await gateway(dc, http)
    await ws.receive_json()
    await ws.send_json({"op": 6, "d": resume})  # a normal close (1000) ended the session
    assert await ws.receive_json() == {"op": 9, "d": False, "s": None, "t": None}
    await ws.close()


async def test_op7_and_op9_reach_the_client(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    ws = await gateway(dc, http)
    await identify(ws, world.token)
    await ws.receive_json()
    await dc.gateway_reconnect()
    assert await ws.receive_json() == {"op": 7, "d": None, "s": None, "t": None}
    await dc.invalidate_sessions(resumable=True)
    assert await ws.receive_json() == {"op": 9, "d": True, "s": None, "t": None}
    await ws.close()


async def test_events_follow_the_intents(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    ws = await gateway(dc, http)
    await identify(ws, world.token, GUILDS | DIRECT_MESSAGES | MESSAGE_CONTENT)
    await dc.post_as(world.alice, world.general, "in the guild")
    await dc.post_as(world.alice, world.dm, "in the dm")
    assert (await next_dispatch(ws, "MESSAGE_CREATE"))["d"]["content"] == "in the dm"
    await ws.close()


async def test_history_after_an_id_is_the_next_page_newest_first(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    sent = [await dc.post_as(world.alice, world.dm, f"m{i}") for i in range(5)]
    path = f"/channels/{world.dm.id}/messages?after={sent[0].id}&limit=2"
    _, page, _ = await call(http, dc, "GET", path, world.token)
    assert [m["content"] for m in page] == ["m2", "m1"]  # discord.py pages on page[0], the newest
    _, page, _ = await call(http, dc, "GET", f"/channels/{world.dm.id}/messages?limit=2", world.token)
    assert [m["content"] for m in page] == ["m4", "m3"]
    assert "guild_id" not in page[0]  # REST message objects do not say which guild they are in
    status, body, _ = await call(http, dc, "GET", f"/channels/{world.dm.id}/messages?limit=101", world.token)
    assert (status, body["code"]) == (400, 50035)


async def test_a_person_posts_with_their_own_token_and_channels_say_what_they_are(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    headers = {"Authorization": world.alice.token}
    async with http.post(
        f"{dc.url}/channels/{world.dm.id}/messages", json={"content": "hi"}, headers=headers
    ) as r:
        assert r.status == 200 and (await r.json(content_type=None))["author"]["id"] == world.alice.id
    _, dm, _ = await call(http, dc, "GET", f"/channels/{world.dm.id}", world.token)
    assert dm["type"] == 1 and [u["id"] for u in dm["recipients"]] == [world.alice.id, world.bot.id]
    _, text, _ = await call(http, dc, "GET", f"/channels/{world.general.id}", world.token)
    assert (text["type"], text["guild_id"], text["name"]) == (0, world.guild.id, "general")
    starter = await dc.post_as(world.alice, world.general, "topic")
    thread = await dc.start_thread_as(world.alice, starter, "topic")
    inside = await dc.post_as(world.alice, thread, "in the thread")
    assert inside.channel_id == thread.id == starter.id and inside.guild_id == world.guild.id


async def test_oversized_payloads_floods_and_wrong_versions_are_closed(
    dc: DiscordEmulator, http: aiohttp.ClientSession, world: World
) -> None:
    ws = await gateway(dc, http)
    await ws.receive_json()
    await ws.send_json({"op": 1, "d": "x" * 5000})
    assert await closed_with(ws) == 4002
    ws = await gateway(dc, http)
    await identify(ws, world.token)
    for _ in range(121):
        await ws.send_json({"op": 1, "d": None})
    assert await closed_with(ws) == 4008
    ws = await http.ws_connect(f"{dc.gateway_url}/?v=6&encoding=json")
    assert await closed_with(ws) == 4012
