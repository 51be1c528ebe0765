"""Helpers for the end-to-end encryption tests: a bot home with encryption, and the room's events as the
homeserver stores them (what a server admin, or anyone with the database, could read)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from hermes.platforms.matrix.crypto.store_files import StorePaths
from tests.harness.matrix_user import MatrixHuman
from tests.harness.synapse_server import SynapseServer, http_json
from tests.integration.matrix.conftest import MatrixBot

ENCRYPTED = "m.room.encrypted"


def configure_e2ee(
    bot: MatrixBot, mode: str, *, allowed: list[str], env: dict[str, str] | None = None
) -> None:
    bot.configure(allowed=allowed, env={"MATRIX_E2EE_MODE": mode, **(env or {})})


def store_paths(bot: MatrixBot) -> StorePaths:
    return StorePaths.under(bot.home / "platforms" / "matrix")


async def stored_events(server: SynapseServer, human: MatrixHuman, room_id: str) -> list[dict[str, Any]]:
    """Every event of the room, oldest first, raw from /messages with the human's token."""
    url = f"{server.base_url}/_matrix/client/v3/rooms/{quote(room_id, safe='')}/messages?dir=b&limit=500"
    status, body = await asyncio.to_thread(http_json, "GET", url, None, human.account.access_token)
    assert status == 200, body
    return list(reversed(body["chunk"]))


async def bot_room_events(
    server: SynapseServer, human: MatrixHuman, room_id: str, bot_id: str
) -> list[dict[str, Any]]:
    """What the bot sent into the room that is not room state (its membership, for one)."""
    events = await stored_events(server, human, room_id)
    return [event for event in events if event["sender"] == bot_id and "state_key" not in event]


async def assert_no_plaintext(server: SynapseServer, human: MatrixHuman, room_id: str, bot_id: str) -> int:
    """Every non-state event the bot sent is `m.room.encrypted` (redactions, which cannot be, carry no
    content); returns how many there were."""
    sent = await bot_room_events(server, human, room_id, bot_id)
    for event in sent:
        if event["type"] == "m.room.redaction":
            assert set(event["content"]) <= {"redacts"}, event
        else:
            assert event["type"] == ENCRYPTED, event
            assert set(event["content"]) <= {
                "algorithm",
                "ciphertext",
                "sender_key",
                "device_id",
                "session_id",
                "m.relates_to",
            }, event
    return len(sent)


async def open_encrypted_dm(human: MatrixHuman, bot_id: str) -> str:
    room_id = await human.create_room(invite=[bot_id], direct=True, encrypted=True)
    await human.wait_for_membership(room_id, bot_id, "join")
    return room_id
