"""The Slack emulator held to reference/slack/SERVICE-BEHAVIOUR.md, through the official slack_sdk clients."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import SlackEmulator


@pytest.fixture
async def slack():
    async with SlackEmulator(ack_timeout=0.3, retry_delays=(0.05, 0.05, 0.05)) as emulator:
        yield emulator


def web(slack: SlackEmulator, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token or slack.bot_token, base_url=slack.api_url)


async def socket_client(
    slack: SlackEmulator, seen: list[SocketModeRequest], *, ack: bool = True, frames: list[dict] | None = None
):
    client = SocketModeClient(app_token=slack.app_token, web_client=web(slack), ping_interval=0.5)

    async def on_message(client: SocketModeClient, message: dict, raw: str | None) -> None:
        if frames is not None:
            frames.append(message)

    client.message_listeners.append(on_message)

    async def listener(client: SocketModeClient, request: SocketModeRequest) -> None:
        seen.append(request)
        if ack:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

    client.socket_mode_request_listeners.append(listener)
    await client.connect()
    return client


async def test_errors_are_ok_false_with_http_200(slack: SlackEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(slack.api_url + "chat.postMessage", data={"channel": "C1", "text": "x"}) as resp:
            assert resp.status == 200
            assert await resp.json() == {"ok": False, "error": "not_authed"}
        headers = {"Authorization": "Bearer xoxb-wrong"}
        async with http.post(slack.api_url + "auth.test", headers=headers) as resp:
            assert (resp.status, (await resp.json())["error"]) == (200, "invalid_auth")
    with pytest.raises(SlackApiError) as err:
        await web(slack).chat_postMessage(channel="C404", text="hi")
    assert err.value.response["error"] == "channel_not_found"
    assert err.value.response.status_code == 200


async def test_auth_test_names_the_bot_and_its_scopes(slack: SlackEmulator) -> None:
    slack.set_scopes({"chat:write", "app_mentions:read"})
    reply = await web(slack).auth_test()
    assert reply["user_id"] == slack.bot.id and reply["bot_id"] == slack.bot.bot_id
    assert reply.headers["x-oauth-scopes"] == "app_mentions:read,chat:write"
    with pytest.raises(SlackApiError) as err:
        await web(slack).reactions_add(channel="C1", timestamp="1.0", name="eyes")
    assert err.value.response["error"] == "missing_scope"
    assert err.value.response["needed"] == "reactions:write"


async def test_tokens_are_kept_to_their_kind(slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as err:
        await web(slack).apps_connections_open(app_token=slack.bot_token)
    assert err.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as err:
        await web(slack, slack.app_token).auth_test()
    assert err.value.response["error"] == "not_allowed_token_type"
    async with aiohttp.ClientSession() as http:
        form = {"token": slack.app_token}
        async with http.post(slack.api_url + "apps.connections.open", data=form) as resp:
            assert (await resp.json())["error"] == "not_authed"  # the app token goes in the header
    url = (await web(slack).apps_connections_open(app_token=slack.app_token))["url"]
    assert url.startswith("ws://127.0.0.1:") and "ticket=" in url


async def test_hello_then_events_acked_are_not_redelivered(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    seen: list[SocketModeRequest] = []
    frames: list[dict] = []
    client = await socket_client(slack, seen, frames=frames)
    try:
        await slack.wait_for_connections(1)
        await slack.wait_for(lambda: frames)
        hello = frames[0]
        assert hello["type"] == "hello" and hello["num_connections"] == 1
        assert hello["connection_info"]["app_id"] and hello["debug_info"]["approximate_connection_time"]
        message = await slack.post(alice, dm, "hello")
        await slack.wait_for(lambda: seen)
        await asyncio.sleep(0.5)
        assert len(seen) == 1
        event = seen[0].payload["event"]
        assert seen[0].type == "events_api" and seen[0].retry_attempt == 0 and seen[0].retry_reason == ""
        assert event["type"] == "message" and event["channel_type"] == "im"
        wanted = (dm.id, message.ts, alice.id, "hello")
        assert (event["channel"], event["ts"], event["user"], event["text"]) == wanted
        assert seen[0].payload["event_id"].startswith("Ev")
    finally:
        await client.close()


async def test_unacked_events_come_back_with_retry_fields_then_stop(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    seen: list[SocketModeRequest] = []
    client = await socket_client(slack, seen, ack=False)
    try:
        await slack.wait_for_connections(1)
        await slack.post(alice, slack.dm(alice), "anyone?")
        await slack.wait_for(lambda: len(seen) == 4, timeout=5)
        assert [r.retry_attempt for r in seen] == [0, 1, 2, 3]
        assert [r.retry_reason for r in seen] == ["", "timeout", "timeout", "timeout"]
        assert len({r.payload["event_id"] for r in seen}) == 1
        assert len({r.envelope_id for r in seen}) == 4
        await asyncio.sleep(0.6)
        assert len(seen) == 4 and len(slack.socket.dropped_events) == 1
    finally:
        await client.close()


async def test_no_socket_means_no_queue(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    await slack.post(alice, slack.dm(alice), "while down")
    await slack.wait_for(lambda: slack.socket.dropped_events, timeout=3)
    seen: list[SocketModeRequest] = []
    client = await socket_client(slack, seen)
    try:
        await asyncio.sleep(0.3)
        assert seen == []
    finally:
        await client.close()


async def test_bot_posts_come_back_as_events_and_mentions_twice(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", [alice, slack.bot])
    seen: list[SocketModeRequest] = []
    client = await socket_client(slack, seen)
    try:
        await slack.wait_for_connections(1)
        posted = await web(slack).chat_postMessage(channel=general.id, text="from the bot")
        await slack.wait_for(lambda: seen)
        own = seen[0].payload["event"]
        assert own["bot_id"] == slack.bot.bot_id and own["user"] == slack.bot.id and own["ts"] == posted["ts"]
        assert own["bot_profile"]["app_id"] and own["channel_type"] == "channel"
        await slack.post(alice, general, f"<@{slack.bot.id}> ping", thread_ts=posted["ts"])
        await slack.wait_for(lambda: len(seen) == 3)
        types = sorted(r.payload["event"]["type"] for r in seen[1:])
        assert types == ["app_mention", "message"]
        assert {r.payload["event"]["ts"] for r in seen[1:]} == {seen[1].payload["event"]["ts"]}
        assert len({r.payload["event_id"] for r in seen[1:]}) == 2
        assert all(r.payload["event"]["thread_ts"] == posted["ts"] for r in seen[1:])
    finally:
        await client.close()


async def test_disconnect_makes_the_sdk_reconnect_through_connections_open(slack: SlackEmulator) -> None:
    seen: list[SocketModeRequest] = []
    client = await socket_client(slack, seen)
    try:
        await slack.wait_for_connections(1)
        first = slack.socket.connections[0]
        await slack.disconnect("refresh_requested")
        await slack.wait_for(lambda: len(slack.calls("apps.connections.open")) == 2)
        await slack.wait_for(lambda: len(slack.socket.connections) == 2 and not first.open)
        await slack.wait_for_connections(1)
    finally:
        await client.close()


async def test_several_connections_share_the_events(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    seen_a: list[SocketModeRequest] = []
    seen_b: list[SocketModeRequest] = []
    frames_b: list[dict] = []
    a = await socket_client(slack, seen_a)
    b = await socket_client(slack, seen_b, frames=frames_b)
    try:
        await slack.wait_for_connections(2)
        await slack.wait_for(lambda: frames_b)
        assert frames_b[0]["num_connections"] == 2
        for n in range(4):
            await slack.post(alice, dm, f"m{n}")
        await slack.wait_for(lambda: len(seen_a) + len(seen_b) == 4)
        assert seen_a and seen_b
    finally:
        await a.close()
        await b.close()


async def test_ts_order_history_and_replies(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", [alice, slack.bot])
    parent = await slack.post(alice, general, "parent")
    r1 = await slack.post(alice, general, "r1", thread_ts=parent.ts)
    other = await slack.post(alice, general, "other")
    r2 = await slack.post(alice, general, "r2", thread_ts=parent.ts)
    assert float(parent.ts) < float(r1.ts) < float(other.ts) < float(r2.ts)
    history = await web(slack).conversations_history(channel=general.id)
    assert [m["text"] for m in history["messages"]] == ["other", "parent"]
    assert history["messages"][1]["reply_count"] == 2 and history["messages"][1]["latest_reply"] == r2.ts
    since = await web(slack).conversations_history(channel=general.id, oldest=parent.ts)
    assert [m["text"] for m in since["messages"]] == ["other"]
    replies = await web(slack).conversations_replies(channel=general.id, ts=parent.ts, oldest=r1.ts)
    assert [m["text"] for m in replies["messages"]] == ["parent", "r2"]
    paged = await web(slack).conversations_history(channel=general.id, limit=1)
    assert paged["has_more"] and paged["response_metadata"]["next_cursor"]


async def test_length_limits(slack: SlackEmulator) -> None:
    general = slack.add_channel("general", [slack.bot])
    posted = await web(slack).chat_postMessage(channel=general.id, text="x" * 40_500)
    assert len(general.messages[posted["ts"]].text) == 40_000
    with pytest.raises(SlackApiError) as err:
        await web(slack).chat_update(channel=general.id, ts=posted["ts"], text="y" * 4_001)
    assert err.value.response["error"] == "msg_too_long"
    with pytest.raises(SlackApiError) as err:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "z" * 3_001}}]
        await web(slack).chat_postMessage(channel=general.id, text="t", blocks=blocks)
    assert err.value.response["error"] == "invalid_blocks"


async def test_update_rules(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", [alice, slack.bot])
    mine = await web(slack).chat_postMessage(channel=general.id, text="draft")
    theirs = await slack.post(alice, general, "human")
    await web(slack).chat_update(channel=general.id, ts=mine["ts"], text="final")
    assert general.messages[mine["ts"]].text == "final"
    for ts, error in ((theirs.ts, "cant_update_message"), ("1.000001", "message_not_found")):
        with pytest.raises(SlackApiError) as err:
            await web(slack).chat_update(channel=general.id, ts=ts, text="x")
        assert err.value.response["error"] == error
    with pytest.raises(SlackApiError) as err:
        await web(slack).reactions_add(channel=general.id, timestamp=theirs.ts, name="eyes")
        await web(slack).reactions_add(channel=general.id, timestamp=theirs.ts, name="eyes")
    assert err.value.response["error"] == "already_reacted"


async def test_not_in_channel(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    elsewhere = slack.add_channel("elsewhere", [alice])
    with pytest.raises(SlackApiError) as err:
        await web(slack).chat_postMessage(channel=elsewhere.id, text="hi")
    assert err.value.response["error"] == "not_in_channel"


async def test_rate_limits_answer_429_with_retry_after(slack: SlackEmulator) -> None:
    general = slack.add_channel("general", [slack.bot])
    slack.limits.enforce(per_minute={3: 2})
    posted = await web(slack).chat_postMessage(channel=general.id, text="a")
    for _ in range(2):
        await web(slack).chat_update(channel=general.id, ts=posted["ts"], text="b")
    with pytest.raises(SlackApiError) as err:
        await web(slack).chat_update(channel=general.id, ts=posted["ts"], text="c")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert 1 <= int(err.value.response.headers["Retry-After"]) <= 60


async def test_upload_flow_and_private_downloads(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    result = await web(slack).files_upload_v2(
        channel=dm.id, content=b"report body", filename="r.txt", title="R"
    )
    file_id = result["file"]["id"]
    shared = [m for m in dm.messages.values() if m.files == [file_id]]
    assert len(shared) == 1 and shared[0].user == slack.bot.id
    info = (await web(slack).files_info(file=file_id))["file"]
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {slack.bot_token}"}
        async with http.get(info["url_private_download"], headers=headers) as resp:
            assert await resp.read() == b"report body"
        async with http.get(info["url_private_download"]) as resp:
            # no token: the sign-in page, with status 200
            assert resp.status == 200 and resp.content_type == "text/html"


async def test_slash_command_ack_payload_and_response_url(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    seen: list[SocketModeRequest] = []
    client = SocketModeClient(app_token=slack.app_token, web_client=web(slack), ping_interval=0.5)

    async def listener(client: SocketModeClient, request: SocketModeRequest) -> None:
        seen.append(request)
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "on it"})
        )

    client.socket_mode_request_listeners.append(listener)
    await client.connect()
    try:
        await slack.wait_for_connections(1)
        call = await slack.slash(alice, slack.dm(alice), "/hermes", "new")
        assert await call.acked() == {"text": "on it"}
        assert seen[0].type == "slash_commands" and seen[0].accepts_response_payload
        async with aiohttp.ClientSession() as http:
            for n in range(6):
                async with http.post(call.response_url, json={"text": f"r{n}"}) as resp:
                    assert resp.status == (200 if n < 5 else 404)
        assert len(call.responses) == 5
    finally:
        await client.close()


async def test_edits_and_reactions_are_heard(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", [alice, slack.bot])
    seen: list[SocketModeRequest] = []
    client = await socket_client(slack, seen)
    try:
        await slack.wait_for_connections(1)
        posted = await web(slack).chat_postMessage(channel=general.id, text="v1")
        await web(slack).chat_update(channel=general.id, ts=posted["ts"], text="v2")
        await slack.workspace.react(alice, general, posted["ts"], "eyes", add=True)
        await slack.wait_for(lambda: len(seen) == 3)
        own, changed, reaction = (r.payload["event"] for r in seen)
        assert own["text"] == "v1" and own["bot_id"]
        assert changed["subtype"] == "message_changed" and changed["hidden"] is True
        assert (changed["message"]["text"], changed["previous_message"]["text"]) == ("v2", "v1")
        assert reaction["type"] == "reaction_added" and reaction["item"] == {
            "type": "message",
            "channel": general.id,
            "ts": posted["ts"],
        }
    finally:
        await client.close()


async def test_the_bots_conversations_and_their_info(slack: SlackEmulator) -> None:
    alice = slack.add_user("alice")
    general = slack.add_channel("general", [alice, slack.bot])
    secret = slack.add_channel("secret", [alice, slack.bot], private=True)
    slack.add_channel("elsewhere", [alice])
    dm = slack.dm(alice)
    listed = await web(slack).users_conversations(types="public_channel,private_channel,im,mpim")
    assert {c["id"] for c in listed["channels"]} == {general.id, secret.id, dm.id}
    info = (await web(slack).conversations_info(channel=secret.id))["channel"]
    assert (info["is_private"], info["is_group"], info["is_channel"]) == (True, True, False)
    assert (await web(slack).conversations_info(channel=dm.id))["channel"]["is_im"] is True
    with pytest.raises(SlackApiError) as err:
        await web(slack, slack.user_token(slack.add_user("mallory"))).conversations_info(channel=secret.id)
    assert err.value.response["error"] == "channel_not_found"  # private: invisible to non-members
