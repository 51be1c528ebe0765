"""`hermes matrix status` and `hermes matrix reset-crypto` on a real bot's store and homeserver."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner, Result

from hermes.platforms.matrix.cli import app
from tests.harness.synapse_server import SynapseServer
from tests.integration.matrix.conftest import MatrixBot
from tests.integration.matrix.e2ee import configure_e2ee, store_paths

pytestmark = pytest.mark.synapse


async def hermes_matrix(*args: str, answer: str | None = None) -> Result:
    """The command as a user runs it (in a thread: it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), input=answer)


async def test_status_shows_the_device_its_keys_and_whether_the_gateway_uses_the_store(
    synapse: SynapseServer, bot: MatrixBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERMES_HOME", str(bot.home))
    configure_e2ee(bot, "required", allowed=["@alice:localhost"])
    async with bot.running():
        running = await hermes_matrix("status")
        busy = await hermes_matrix("reset-crypto", "--yes")
    stopped = await hermes_matrix("status")
    device = bot.account.device_id
    assert running.exit_code == 0, running.output
    assert "in use          yes, by a running gateway" in running.output
    assert stopped.exit_code == 0, stopped.output
    assert "E2EE mode       required" in stopped.output
    assert f"account         {bot.user_id}, device {device}" in stopped.output
    assert "identity keys   ed25519 " in stopped.output and ", published" in stopped.output
    assert f"signed in as    {bot.user_id}, device {device}" in stopped.output
    assert "keys on server  match the local identity keys" in stopped.output
    assert "cross-signing   the account has no cross-signing keys" in stopped.output
    assert "recovery key    not set" in stopped.output
    assert "in use          no" in stopped.output
    assert busy.exit_code == 1 and "a running gateway is using" in busy.output
    assert store_paths(bot).db.exists()


async def test_reset_crypto_asks_first_then_backs_up_and_clears(
    synapse: SynapseServer, bot: MatrixBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERMES_HOME", str(bot.home))
    paths = store_paths(bot)
    nothing = await hermes_matrix("reset-crypto", "--yes")
    configure_e2ee(bot, "required", allowed=["@alice:localhost"])
    async with bot.running():
        pass
    original = paths.db.read_bytes()
    declined = await hermes_matrix("reset-crypto", answer="n\n")
    kept = paths.db.read_bytes() == original
    confirmed = await hermes_matrix("reset-crypto", answer="y\n")
    after = await hermes_matrix("status")
    assert nothing.exit_code == 0 and "nothing to reset" in nothing.output
    assert declined.exit_code == 1 and "Aborted" in declined.output and kept
    assert confirmed.exit_code == 0, confirmed.output
    assert f"{bot.user_id} (device {bot.account.device_id})" in confirmed.output
    backups = [path for path in paths.directory.iterdir() if path.name.startswith("backup-")]
    assert len(backups) == 1
    assert (backups[0] / "crypto.db").read_bytes() == original
    assert (backups[0] / "crypto.secret").read_bytes() == paths.secret.read_bytes()
    assert not paths.db.exists()
    assert "store           empty: a new identity is created at the next start" in after.output
