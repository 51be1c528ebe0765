"""Invites: joined from allowed people (and recorded as DMs when direct), declined from strangers."""

from __future__ import annotations

import pytest

from tests.harness.matrix_user import MatrixHumans
from tests.harness.synapse_server import SynapseServer, http_json
from tests.integration.matrix.conftest import MatrixBot

pytestmark = pytest.mark.synapse


def direct_rooms(bot: MatrixBot) -> dict[str, list[str]]:
    url = f"{bot.server.base_url}/_matrix/client/v3/user/{bot.user_id}/account_data/m.direct"
    status, body = http_json("GET", url, token=bot.account.access_token)
    return body if status == 200 else {}


async def test_an_invite_from_an_allowed_user_is_joined_and_a_direct_one_recorded(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        direct = await alice.create_room(invite=[bot.user_id], direct=True)
        group = await alice.create_room(invite=[bot.user_id])
        await alice.wait_for_membership(direct, bot.user_id, "join")
        await alice.wait_for_membership(group, bot.user_id, "join")
    assert direct_rooms(bot) == {alice.user_id: [direct]}


async def test_an_invite_from_a_stranger_is_declined(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    stranger = await matrix_humans.new(synapse, prefix="stranger")
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await stranger.create_room(invite=[bot.user_id], direct=True)
        await stranger.wait_for_membership(room, bot.user_id, "leave")
        # The bot still takes invites from allowed people afterwards.
        welcome = await alice.create_room(invite=[bot.user_id])
        await alice.wait_for_membership(welcome, bot.user_id, "join")
    assert direct_rooms(bot) == {}


async def test_allow_all_accepts_anyone(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    anyone = await matrix_humans.new(synapse, prefix="anyone")
    bot.configure(env={"MATRIX_ALLOW_ALL_USERS": "true"})
    async with bot.running():
        room = await anyone.create_room(invite=[bot.user_id])
        await anyone.wait_for_membership(room, bot.user_id, "join")
