"""MATRIX_E2EE_MODE when encryption cannot run (python-olm cannot be loaded): required refuses to start;
optional answers unencrypted rooms and puts nothing at all into encrypted ones."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from hermes.platforms.base import ChatRef
from hermes.platforms.matrix.room_encryption import PlaintextRefused
from tests.harness.gateway import gateway_in_process
from tests.harness.matrix_user import MatrixHumans
from tests.harness.synapse_server import SynapseServer
from tests.integration.matrix.conftest import MatrixBot, open_dm, platform_of
from tests.integration.matrix.e2ee import bot_room_events, configure_e2ee

pytestmark = pytest.mark.synapse


@pytest.fixture
def without_olm(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-olm as on a machine without libolm: importing it fails."""
    monkeypatch.setitem(sys.modules, "olm", None)


async def test_required_mode_without_crypto_refuses_to_start(
    synapse: SynapseServer, bot: MatrixBot, without_olm: None, caplog: pytest.LogCaptureFixture
) -> None:
    bot.configure(allowed=["@alice:localhost"], env={"MATRIX_ENCRYPTION": "true"})
    async with gateway_in_process(bot.home) as gateway:
        async with asyncio.timeout(15):
            await gateway.gateway.started.wait()
            supervisor = gateway.gateway.supervisors["matrix"]
            while supervisor.state != "stopped":
                await asyncio.sleep(0.02)
        problem = supervisor.platform.problem
        connected = supervisor.connected.is_set()
    assert not connected
    assert problem is not None and "python-olm cannot be loaded" in problem
    assert "pip install 'mautrix[encryption]'" in problem
    refusal = "MATRIX_E2EE_MODE=required, so Matrix does not start"
    refusals = [r for r in caplog.records if refusal in r.message]
    assert len(refusals) == 1 and refusals[0].levelno == logging.ERROR
    assert not (bot.home / "platforms" / "matrix" / "store" / "crypto.db").exists()


async def test_optional_mode_without_crypto_answers_plain_rooms_and_leaves_encrypted_ones_alone(
    synapse: SynapseServer,
    matrix_humans: MatrixHumans,
    bot: MatrixBot,
    without_olm: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    configure_e2ee(bot, "optional", allowed=[alice.user_id])
    async with bot.running() as gateway:
        secret = await alice.create_room(invite=[bot.user_id], encrypted=True)
        await alice.wait_for_membership(secret, bot.user_id, "join")
        name = bot.account.localpart
        await alice.send_text(secret, f"{name}: are you there?", mentions=[bot.user_id])
        await alice.send_text(secret, f"{name}: hello?", mentions=[bot.user_id])
        plain = await open_dm(alice, bot.user_id)
        sent = await alice.send_text(plain, "and here?")
        reply = await alice.wait_for_message(plain, after=sent, sender=bot.user_id)
        with pytest.raises(PlaintextRefused):
            await platform_of(gateway).send(ChatRef("matrix", secret, "group"), "cron", idempotency_key="c:1")
    assert reply.body == "and here?" and not reply.encrypted
    assert [request.last_user_text for request in bot.llm.chat_requests] == ["and here?"]
    assert await bot_room_events(synapse, alice, secret, bot.user_id) == []
    about_room = [r for r in caplog.records if secret in r.message and r.name.startswith("hermes")]
    assert len(about_room) == 1, [r.message for r in about_room]
    assert "is an encrypted room, but end-to-end encryption could not start" in about_room[0].message
    off = "end-to-end encryption is off: python-olm cannot be loaded"
    assert any(off in r.message for r in caplog.records)
