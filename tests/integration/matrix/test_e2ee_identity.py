"""The bot's encryption identity across restarts: a store of another device is refused, a wiped store
under the same device id is refused with the way out, and the recovery key cross-signs the device."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import pytest
from mautrix.types import UserID

from hermes.platforms.matrix.crypto.cross_signing import VERIFIED, device_signed
from tests.harness.gateway import RunningGateway, gateway_in_process
from tests.harness.matrix_user import MatrixHuman, MatrixHumans
from tests.harness.synapse_server import SynapseServer
from tests.integration.matrix.conftest import MatrixBot, platform_of
from tests.integration.matrix.e2ee import configure_e2ee, open_encrypted_dm, store_paths

pytestmark = pytest.mark.synapse


async def refusal(bot: MatrixBot) -> str:
    """Starts the bot's gateway and returns why Matrix refused to start."""
    async with gateway_in_process(bot.home) as gateway:
        async with asyncio.timeout(15):
            await gateway.gateway.started.wait()
            supervisor = gateway.gateway.supervisors["matrix"]
            while supervisor.state != "stopped":
                await asyncio.sleep(0.02)
        assert not supervisor.connected.is_set()
        return supervisor.platform.problem or ""


def encrypting(gateway: RunningGateway) -> bool:
    connection = platform_of(gateway).connection
    return connection is not None and connection.e2ee is not None


async def published_keys(human: MatrixHuman, user_id: str) -> dict[str, str]:
    answer = await human.client.query_keys([UserID(user_id)])
    return {device: str(keys.ed25519) for device, keys in answer.device_keys[UserID(user_id)].items()}


async def test_a_crypto_store_of_another_device_is_refused_and_left_as_it_was(
    synapse: SynapseServer, bot: MatrixBot
) -> None:
    first_device = bot.account.device_id
    configure_e2ee(bot, "required", allowed=["@alice:localhost"])
    async with bot.running() as gateway:
        assert encrypting(gateway)
    db = store_paths(bot).db
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    bot.account = await synapse.login(bot.account)
    configure_e2ee(bot, "required", allowed=["@alice:localhost"])
    problem = await refusal(bot)
    assert f"belongs to device {first_device} of {bot.user_id}" in problem
    assert f"the access token is for device {bot.account.device_id}" in problem
    assert "hermes matrix reset-crypto" in problem
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


async def test_a_wiped_store_under_the_same_device_is_refused_with_the_way_out(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    device = bot.account.device_id
    configure_e2ee(bot, "required", allowed=[alice.user_id])
    async with bot.running():
        pass
    published = await published_keys(alice, bot.user_id)
    for path in store_paths(bot).db_files():
        path.unlink(missing_ok=True)
    problem = await refusal(bot)
    assert f"device {device} has stale one-time keys on the server signed with a previous identity key" in (
        problem
    )
    assert "create a new access token" in problem
    admin_path = f"/_synapse/admin/v2/users/%40{bot.account.localpart}%3Alocalhost/devices/{device}"
    assert f"DELETE {admin_path}" in problem
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and "stale one-time keys" in r.message]
    assert logged and "To recover, either (1) give the bot a new device" in logged[0].message
    assert await published_keys(alice, bot.user_id) == published
    # The way out (1): a new access token, hence a new device, works without touching the store.
    bot.account = await synapse.login(bot.account)
    configure_e2ee(bot, "required", allowed=[alice.user_id])
    async with bot.running() as gateway:
        assert encrypting(gateway)
        room = await open_encrypted_dm(alice, bot.user_id)
        sent = await alice.send_text(room, "are you back?")
        reply = await alice.wait_for_message(room, after=sent, sender=bot.user_id)
    assert reply.encrypted and reply.body == "are you back?"


async def test_the_recovery_key_cross_signs_the_device_once(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot, caplog: pytest.LogCaptureFixture
) -> None:
    # The account's owner set up cross-signing in another client (as Element does), which gave this key.
    element = await matrix_humans.connect(synapse, await synapse.login(bot.account), encryption=True)
    recovery_key = await element.client.crypto.generate_recovery_key()
    caplog.set_level(logging.INFO, "hermes.platforms.matrix.crypto")
    configure_e2ee(bot, "required", allowed=["@alice:localhost"], env={"MATRIX_RECOVERY_KEY": recovery_key})
    async with bot.running():
        answer = await element.client.query_keys([UserID(bot.user_id)])
    assert device_signed(answer, bot.user_id, bot.account.device_id)
    assert f"{VERIFIED} (device {bot.account.device_id} signed)" in caplog.text
    caplog.clear()
    async with bot.running():
        pass
    assert f"{VERIFIED} (device {bot.account.device_id} was already signed)" in caplog.text
    caplog.clear()
    configure_e2ee(bot, "required", allowed=["@alice:localhost"], env={"MATRIX_RECOVERY_KEY": "EsTq not it"})
    async with bot.running() as gateway:
        assert encrypting(gateway)
    assert "MATRIX_RECOVERY_KEY was not used (Invalid recovery key syntax)" in caplog.text
