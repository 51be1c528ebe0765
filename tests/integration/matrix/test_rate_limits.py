"""`M_LIMIT_EXCEEDED` from a homeserver with low limits: every reply still arrives, in order."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.fakes.llm import FakeLLM
from tests.harness.matrix_user import MatrixHumans
from tests.harness.synapse_server import SynapseServer, http_json
from tests.integration.matrix.conftest import MatrixBot, open_dm, replies_from

pytestmark = pytest.mark.synapse


async def test_every_reply_is_delivered_when_the_homeserver_rate_limits_the_bot(
    synapse_ratelimited: SynapseServer,
    matrix_humans: MatrixHumans,
    llm: FakeLLM,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = synapse_ratelimited
    bot = MatrixBot(server, await server.register(prefix="hermes"), tmp_path / "home", llm)
    alice = await matrix_humans.new(server, prefix="alice")
    admin = await server.admin()
    # Only the bot is limited: the person may type as fast as the test likes.
    status, body = http_json(
        "POST",
        f"{server.base_url}/_synapse/admin/v1/users/{alice.user_id}/override_ratelimit",
        {"messages_per_second": 0, "burst_count": 0},
        token=admin.access_token,
    )
    assert status == 200, body
    bot.configure(allowed=[alice.user_id], config={"display": {"busy_input_mode": "queue"}})
    caplog.set_level(logging.INFO, logger="hermes.platforms.matrix")
    texts = [f"message {i}" for i in range(4)]
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        for text in texts:
            await alice.send_text(room, text)
        await alice.wait_for_message(room, lambda e: e.body == texts[-1], sender=bot.user_id, timeout=30)
    assert [reply.body for reply in replies_from(alice, room, bot.user_id)] == texts
    assert any("M_LIMIT_EXCEEDED" in record.getMessage() for record in caplog.records)
