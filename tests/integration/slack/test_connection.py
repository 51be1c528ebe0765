"""Staying connected to Slack: dropped sockets, disconnect notices, refused tokens, rate limits."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from hermes.platforms.slack import listener as slack_listener
from tests.harness.gateway import gateway_in_process

from .conftest import SlackBot, platform_of, settled


async def test_a_dropped_socket_is_replaced_and_nothing_said_meanwhile_is_lost(bot: SlackBot) -> None:
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        opened = len(bot.slack.calls("apps.connections.open"))
        bot.slack.drop_connections()
        # said while no socket is open: Slack's retries find none, the catch-up reads it back
        await bot.slack.post(bot.alice, dm, "during the gap")
        await bot.slack.wait_for(lambda: len(bot.slack.calls("apps.connections.open")) > opened, timeout=5)
        await bot.reply(dm, lambda m: m.text == "during the gap", timeout=8)
        await settled(gateway)
        await bot.slack.post(bot.alice, dm, "after the gap")
        await bot.reply(dm, lambda m: m.text == "after the gap")
        await settled(gateway)
        assert [m.text for m in bot.replies_in(dm)] == ["during the gap", "after the gap"]


@pytest.mark.parametrize("reason", ["refresh_requested", "warning", "link_disabled"])
async def test_disconnect_notices_reconnect_through_connections_open(bot: SlackBot, reason: str) -> None:
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        opened = len(bot.slack.calls("apps.connections.open"))
        first = bot.slack.socket.open_connections()[0]
        await bot.slack.disconnect(reason)
        await bot.slack.wait_for(lambda: not first.open and bot.slack.socket.open_connections(), timeout=5)
        # link_disabled also closes the socket at once, which slack_sdk may answer with a second new URL
        assert len(bot.slack.calls("apps.connections.open")) >= opened + 1
        await bot.slack.post(bot.alice, dm, f"after {reason}")
        await bot.reply(dm, lambda m: m.text == f"after {reason}")
        await settled(gateway)
        assert len(bot.replies_in(dm)) == 1
        await bot.slack.wait_for(lambda: len(bot.slack.socket.open_connections()) == 1, timeout=3)
        assert platform_of(gateway).problem is None  # back after the new socket's hello


async def test_a_refused_bot_token_stops_slack_with_one_clear_line(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.configure(env={"SLACK_BOT_TOKEN": "xoxb-not-a-real-token"})
    caplog.set_level(logging.ERROR)
    async with gateway_in_process(bot.home) as gateway:
        await asyncio.wait_for(gateway.gateway.started.wait(), 10)
        supervisor = gateway.gateway.supervisors["slack"]
        await bot.slack.wait_for(lambda: supervisor.state == "stopped", timeout=5)
        assert "invalid_auth" in (platform_of(gateway).problem or "")
        lines = [r.getMessage() for r in caplog.records if "SLACK_BOT_TOKEN" in r.getMessage()]
        assert len(lines) == 1 and "invalid_auth" in lines[0]


async def test_a_refused_app_token_is_named(bot: SlackBot) -> None:
    bot.configure(env={"SLACK_APP_TOKEN": "xapp-1-revoked"})
    async with gateway_in_process(bot.home) as gateway:
        await asyncio.wait_for(gateway.gateway.started.wait(), 10)
        supervisor = gateway.gateway.supervisors["slack"]
        await bot.slack.wait_for(lambda: supervisor.state == "stopped", timeout=5)
        problem = platform_of(gateway).problem or ""
        assert "SLACK_APP_TOKEN" in problem and "invalid_auth" in problem and "Socket Mode" in problem


async def test_tokens_revoked_while_running_stop_the_reconnects(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    async with bot.running() as gateway:
        bot.slack.revoke_tokens()
        await bot.slack.disconnect("refresh_requested")
        platform = platform_of(gateway)
        await bot.slack.wait_for(lambda: platform.problem, timeout=5)
        assert "credentials rejected" in platform.problem
        calls = len(bot.slack.calls("apps.connections.open"))
        await asyncio.sleep(1.0)  # a few ping intervals: no retry loop
        assert len(bot.slack.calls("apps.connections.open")) == calls
        assert len([r for r in caplog.records if "SLACK_APP_TOKEN" in r.getMessage()]) == 1


async def test_a_rate_limited_post_waits_retry_after_and_posts_once(bot: SlackBot) -> None:
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        bot.slack.limits.next_429("chat.postMessage", retry_after=1)
        started = time.monotonic()
        await bot.slack.post(bot.alice, dm, "patience")
        await bot.reply(dm, lambda m: m.text == "patience", timeout=5)
        assert time.monotonic() - started >= 1.0
        await settled(gateway)
        posts = bot.slack.calls("chat.postMessage")
        assert [p.status for p in posts] == [429, 200]
        assert len(bot.replies_in(dm)) == 1


async def test_every_envelope_is_acked_even_unhandled_ones(bot: SlackBot) -> None:
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        asked = await bot.slack.post(bot.alice, dm, "react to this")
        await bot.reply(dm)
        await settled(gateway)
        await bot.slack.workspace.react(bot.alice, dm, asked.ts, "tada", add=True)
        await asyncio.sleep(1.5)  # past the ack timeout and the first retry
        deliveries = bot.slack.socket.deliveries
        assert deliveries and all(d.acked.is_set() for d in deliveries)
        assert all(d.envelope.get("retry_attempt", 0) == 0 for d in deliveries)


async def test_a_rate_limited_connections_open_is_retried_after_retry_after(bot: SlackBot) -> None:
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        bot.slack.limits.next_429("apps.connections.open", retry_after=1)
        started = time.monotonic()
        await bot.slack.disconnect("refresh_requested")
        opens = lambda: bot.slack.calls("apps.connections.open")  # noqa: E731
        await bot.slack.wait_for(lambda: [c.status for c in opens()][-2:] == [429, 200], timeout=5)
        assert time.monotonic() - started >= 1.0
        await bot.slack.wait_for(lambda: bot.slack.socket.open_connections(), timeout=5)
        await bot.slack.post(bot.alice, dm, "still here")
        await bot.reply(dm, lambda m: m.text == "still here")
        await settled(gateway)


async def test_malformed_frames_are_survived(bot: SlackBot) -> None:
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        frames = [
            "not json at all",
            '{"type": "events_api", "envelope_id": "e-1", "payload": {"event": {"type": "message"}}}',
            '{"type": "events_api", "envelope_id": "e-2", "payload": {"event": "a string"}}',
            '{"type": "events_api", "envelope_id": "e-3", "payload": {"event": {"type": "message", '
            '"channel": "' + dm.id + '", "ts": "1.5", "user": "' + bot.alice.id + '", "files": "oops"}}}',
            '{"type": "something_new", "envelope_id": "e-4", "payload": {}}',
            '{"envelope_id": "e-5"}',
        ]
        for frame in frames:
            await bot.slack.socket.send_raw(frame)
        await bot.slack.post(bot.alice, dm, "after the noise")
        await bot.reply(dm, lambda m: m.text == "after the noise")
        await settled(gateway)
        acked = {a.envelope_id for a in bot.slack.socket.acks}
        assert {"e-1", "e-2", "e-3", "e-4"} <= acked
        assert [m.text for m in bot.replies_in(dm)] == ["after the noise"]


async def test_a_failed_catch_up_is_tried_again_soon(bot: SlackBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_listener, "CATCH_UP_RETRY_SECONDS", 0.2)
    dm = bot.dm(bot.alice)
    async with bot.running():
        pass
    await bot.slack.post(bot.alice, dm, "while the gateway was down")
    # Slack gives up redelivering it: only a catch-up can find it now
    await bot.slack.wait_for(lambda: bot.slack.socket.dropped_events, timeout=5)
    # Retry-After beyond what one call waits out: the catch-up fails, and is tried again
    bot.slack.limits.next_429("users.conversations", retry_after=120)
    async with gateway_in_process(bot.home) as gateway:
        await gateway.connected("slack", timeout=10)
        await bot.reply(dm, lambda m: m.text == "while the gateway was down", timeout=5)
        await settled(gateway)
    assert [c.status for c in bot.slack.calls("users.conversations")][:2] == [429, 200]


async def test_a_catch_up_passes_over_a_thread_that_is_gone(bot: SlackBot) -> None:
    dm = bot.dm(bot.alice)
    async with bot.running() as gateway:
        asked = await bot.slack.post(bot.alice, bot.general, f"{bot.mention} start a thread")
        await bot.reply(bot.general)
        await settled(gateway)
    # while the gateway is down: the thread's parent is deleted, and people write
    await bot.slack.workspace.delete(bot.alice, bot.general, asked.ts)
    await bot.slack.post(bot.alice, dm, "a DM while down")
    await bot.slack.post(bot.bob, bot.general, f"{bot.mention} a mention while down")
    async with bot.running() as gateway:
        await bot.reply(dm, lambda m: m.text == "a DM while down")
        await bot.reply(bot.general, lambda m: m.text == "a mention while down")
        await settled(gateway)
    assert "thread_not_found" in [r.error for r in bot.slack.calls("conversations.replies")]
