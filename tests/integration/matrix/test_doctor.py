"""`hermes doctor`'s Matrix lines against the real homeserver."""

from __future__ import annotations

import pytest

from hermes.config import load_config
from hermes.platforms.matrix import MatrixPlatform
from tests.harness.synapse_server import SynapseServer, free_port
from tests.integration.matrix.conftest import MatrixBot

pytestmark = pytest.mark.synapse


async def lines(bot: MatrixBot) -> list[str]:
    checks = await MatrixPlatform.check(load_config({"HERMES_HOME": str(bot.home)}))
    return [check.line() for check in checks]


async def test_a_working_token_is_reported_with_the_account_and_device(
    synapse: SynapseServer, bot: MatrixBot
) -> None:
    bot.configure(allowed=["@alice:localhost"])
    assert await lines(bot) == [f"✓ matrix: signed in as {bot.user_id} (device {bot.account.device_id})"]


async def test_problems_are_reported_with_what_to_do(synapse: SynapseServer, bot: MatrixBot) -> None:
    bot.configure(env={"MATRIX_ACCESS_TOKEN": "syt_revoked"})
    rejected, nobody = await lines(bot)
    assert rejected.startswith("✗ matrix: the homeserver rejects MATRIX_ACCESS_TOKEN — fix: create a new")
    assert nobody == "✗ matrix: nobody may talk to the bot — fix: set MATRIX_ALLOWED_USERS=@you:your.server"

    bot.configure(allowed=["*"], env={"MATRIX_HOMESERVER": f"http://127.0.0.1:{free_port()}"})
    (unreachable,) = await lines(bot)
    assert unreachable.startswith("✗ matrix: cannot reach http://127.0.0.1:")
    assert unreachable.endswith("fix: check MATRIX_HOMESERVER and the network")

    bot.configure(allowed=["*"], env={"MATRIX_HOMESERVER": "matrix.example.org"})
    (invalid,) = await lines(bot)
    assert "matrix.homeserver (MATRIX_HOMESERVER) is 'matrix.example.org'" in invalid
