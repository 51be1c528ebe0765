"""Connecting, credentials, and exactly-once answers across stops, crashes and restarts."""

from __future__ import annotations

import asyncio
import json
import logging
import stat

import pytest

from hermes.gateway.hub import INTERRUPT_ACK
from hermes.platforms.matrix import sync as sync_module
from tests.fakes.llm import Echo, Text
from tests.harness.gateway import RunningGateway, gateway_in_process, start_gateway_process, wait_for_log
from tests.harness.matrix_user import MatrixHumans
from tests.harness.synapse_server import SynapseServer, http_json
from tests.integration.matrix.conftest import MatrixBot, latest_text, open_dm, platform_of, replies_from

pytestmark = pytest.mark.synapse


async def wait_until(condition: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)


def devices(bot: MatrixBot) -> list[str]:
    url = f"{bot.server.base_url}/_matrix/client/v3/devices"
    status, body = http_json("GET", url, token=bot.account.access_token)
    assert status == 200, body
    return sorted(device["device_id"] for device in body["devices"])


def stopped(gateway: RunningGateway) -> bool:
    return gateway.gateway.supervisors.get("matrix") is not None and (
        gateway.gateway.supervisors["matrix"].state == "stopped"
    )


async def test_messages_sent_while_stopped_are_each_answered_once_after_start(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id], config={"display": {"busy_input_mode": "queue"}})
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
    for text in ("one", "two", "three"):
        await alice.send_text(room, text)
    async with bot.running():
        await alice.wait_for_message(room, lambda e: e.body == "three", sender=bot.user_id)
        sentinel = await alice.send_text(room, "four")
        await alice.wait_for_message(room, after=sentinel, sender=bot.user_id)
    assert [r.body for r in replies_from(alice, room, bot.user_id)] == ["one", "two", "three", "four"]
    assert [r.last_user_text for r in bot.llm.chat_requests] == ["one", "two", "three", "four"]


async def test_two_dms_sent_while_stopped_are_one_input_without_interrupt(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
    # The timings were 10 s and 2 s before the start; the gaps are shortened, their order kept.
    await alice.send_text(room, "can you look at the logs?")
    await asyncio.sleep(0.8)
    await alice.send_text(room, "the ones from last night")
    await asyncio.sleep(0.2)
    bot.llm.script(Echo(delay=0.5))
    async with bot.running():
        await alice.wait_for_message(room, sender=bot.user_id)
        sentinel = await alice.send_text(room, "thanks")
        await alice.wait_for_message(room, after=sentinel, sender=bot.user_id)
    bodies = [r.body for r in replies_from(alice, room, bot.user_id)]
    assert INTERRUPT_ACK not in bodies
    assert bodies == ["can you look at the logs?\n\nthe ones from last night", "thanks"]
    assert len(bot.llm.chat_requests) == 2


async def test_a_reply_cut_by_sigkill_is_finished_once_after_restart(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id])
    bot.llm.instant = False
    story = " ".join(f"word{i}" for i in range(60))
    bot.llm.script(Text(story, chunk_delay=0.1), Text("the whole story, told after the restart"))
    first = start_gateway_process(bot.home)
    try:
        await wait_for_log(first, "matrix: connected")
        room = await open_dm(alice, bot.user_id)
        asked = await alice.send_text(room, "tell me a story")
        reply = await alice.wait_for_message(room, after=asked, sender=bot.user_id)
        await alice.wait_for_edit(room, reply.event_id or "")
    finally:
        first.kill()
    assert latest_text(alice, room, reply) != story

    second = start_gateway_process(bot.home)
    try:
        await wait_for_log(second, "matrix: connected")
        await alice.wait_for_edit(
            room,
            reply.event_id or "",
            lambda e: e.content["m.new_content"]["body"] == "the whole story, told after the restart",
            timeout=20,
        )
        sentinel = await alice.send_text(room, "are you there?")
        await alice.wait_for_message(room, after=sentinel, sender=bot.user_id)
    finally:
        assert second.terminate() == 0
    replies = replies_from(alice, room, bot.user_id)
    assert len(replies) == 2 and replies[0].event_id == reply.event_id
    assert [r.last_user_text for r in bot.llm.chat_requests] == [
        "tell me a story",
        "tell me a story",
        "are you there?",
    ]


async def test_a_rejected_access_token_stops_only_matrix_with_one_clear_line(
    synapse: SynapseServer, bot: MatrixBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.configure(env={"MATRIX_ACCESS_TOKEN": "syt_not_a_real_token", "MATRIX_ALLOWED_USERS": "*"})
    caplog.set_level(logging.INFO)
    async with gateway_in_process(bot.home) as gateway:
        await wait_until(lambda: stopped(gateway))
        platform = platform_of(gateway)
        assert platform.problem is not None and "M_UNKNOWN_TOKEN" in platform.problem
        assert not gateway.task.done()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "MATRIX_ACCESS_TOKEN" in errors[0]


async def test_a_token_revoked_while_running_stops_matrix_and_says_so(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id])
    caplog.set_level(logging.INFO)
    async with bot.running() as gateway:
        room = await open_dm(alice, bot.user_id)
        platform = platform_of(gateway)
        status, _ = http_json(
            "POST", f"{synapse.base_url}/_matrix/client/v3/logout", {}, token=bot.account.access_token
        )
        assert status == 200
        await alice.send_text(room, "wake the long poll")
        await wait_until(lambda: platform.problem is not None)
        assert "credentials rejected" in (platform.problem or "")
        assert not gateway.task.done()
    errors = [
        r.getMessage() for r in caplog.records if r.name.startswith("hermes") and r.levelno >= logging.ERROR
    ]
    assert len(errors) == 1 and "rejected the access token" in errors[0]


async def test_password_login_keeps_its_device_and_token_between_runs(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(
        allowed=[alice.user_id],
        env={
            "MATRIX_ACCESS_TOKEN": "",
            "MATRIX_USER_ID": bot.user_id,
            "MATRIX_PASSWORD": bot.account.password,
        },
    )
    before = devices(bot)
    session_file = bot.home / "platforms" / "matrix" / "session.json"
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await alice.send_text(room, "hello")
        await alice.wait_for_message(room, after=sent, sender=bot.user_id)
    session = json.loads(session_file.read_text())
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert session["user_id"] == bot.user_id and session["access_token"]
    after_first = devices(bot)
    assert len(after_first) == len(before) + 1 and session["device_id"] in after_first
    async with bot.running():
        sent = await alice.send_text(room, "again")
        await alice.wait_for_message(room, after=sent, sender=bot.user_id)
    assert devices(bot) == after_first
    assert json.loads(session_file.read_text()) == session


async def test_a_wrong_password_stops_matrix(synapse: SynapseServer, bot: MatrixBot) -> None:
    bot.configure(
        env={
            "MATRIX_ACCESS_TOKEN": "",
            "MATRIX_USER_ID": bot.user_id,
            "MATRIX_PASSWORD": "not the password",
            "MATRIX_ALLOWED_USERS": "*",
        }
    )
    async with gateway_in_process(bot.home) as gateway:
        await wait_until(lambda: stopped(gateway))
        assert "password login" in (platform_of(gateway).problem or "")


async def test_a_gap_in_the_timeline_is_filled_so_nothing_sent_meanwhile_is_lost(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With room for two events per sync, five missed messages make the homeserver trim the timeline.
    monkeypatch.setattr(sync_module, "TIMELINE_LIMIT", 2)
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id], config={"display": {"busy_input_mode": "queue"}})
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
    texts = [f"missed {i}" for i in range(5)]
    for text in texts:
        await alice.send_text(room, text)
    async with bot.running():
        await alice.wait_for_message(room, lambda e: e.body == texts[-1], sender=bot.user_id)
    assert [r.body for r in replies_from(alice, room, bot.user_id)] == texts
