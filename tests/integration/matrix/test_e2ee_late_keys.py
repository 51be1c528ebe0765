"""Room keys that arrive late, or never, and messages sent while the bot was down."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest
from mautrix.crypto import OutboundGroupSession
from mautrix.types import RoomID, UserID

from hermes.platforms.matrix import batch
from hermes.platforms.matrix.undecryptable import NOTICE
from tests.harness.matrix_user import MatrixHuman, MatrixHumans
from tests.harness.synapse_server import SynapseServer
from tests.integration.matrix.conftest import MatrixBot, platform_of, replies_from
from tests.integration.matrix.e2ee import assert_no_plaintext, configure_e2ee, open_encrypted_dm

pytestmark = pytest.mark.synapse

_PICKLE = "late-key-test"


async def settled_dm(human: MatrixHuman, bot_id: str) -> str:
    """An encrypted DM after one exchange, so device list updates no longer rotate the human's key."""
    room = await open_encrypted_dm(human, bot_id)
    sent = await human.send_text(room, "hello")
    await human.wait_for_message(room, after=sent, sender=bot_id)
    return room


@dataclass
class Unshared:
    """An encrypted message whose room key nobody else has received: a fresh session, shared on demand."""

    human: MatrixHuman
    room: str
    event_id: str
    snapshot: bytes
    created: OutboundGroupSession

    @classmethod
    async def send(cls, human: MatrixHuman, room: str, text: str) -> Unshared:
        machine = human.client.crypto
        assert machine is not None
        session = OutboundGroupSession(RoomID(room))
        snapshot = session.pickle(_PICKLE)
        # Marked shared so the client encrypts with it without sharing it first.
        session.shared = True
        await machine.crypto_store.add_outbound_group_session(session)
        event_id = await human.send_text(room, text)
        # The human's next message starts a properly shared session.
        await machine.crypto_store.remove_outbound_group_session(RoomID(room))
        return cls(human, room, event_id, snapshot, session)

    async def share_late(self, *users: str) -> None:
        """Sends the room key as it was before the message, so the message can be decrypted."""
        machine = self.human.client.crypto
        before = OutboundGroupSession.from_pickle(
            self.snapshot,
            passphrase=_PICKLE,
            max_age=self.created.max_age,
            max_messages=self.created.max_messages,
            creation_time=self.created.creation_time,
            use_time=self.created.use_time,
            message_count=0,
            room_id=RoomID(self.room),
            shared=False,
        )
        await machine.crypto_store.add_outbound_group_session(before)
        await machine.share_group_session(RoomID(self.room), [UserID(user) for user in users])


async def until(condition: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_a_message_sent_while_the_bot_was_down_is_decrypted_and_answered_once(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    configure_e2ee(bot, "required", allowed=[alice.user_id])
    async with bot.running():
        room = await open_encrypted_dm(alice, bot.user_id)
        first = await alice.send_text(room, "before the restart")
        await alice.wait_for_message(room, after=first, sender=bot.user_id)
    offline = await alice.send_text(room, "while you were away")
    async with bot.running():
        await alice.wait_for_message(room, after=offline, sender=bot.user_id)
        after = await alice.send_text(room, "after the restart")
        await alice.wait_for_message(room, after=after, sender=bot.user_id)
    bodies = [event.body for event in replies_from(alice, room, bot.user_id)]
    assert bodies == ["before the restart", "while you were away", "after the restart"]
    assert await assert_no_plaintext(synapse, alice, room, bot.user_id) == 3


async def test_a_late_room_key_is_awaited(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    configure_e2ee(bot, "required", allowed=[alice.user_id])
    async with bot.running() as gateway:
        late = platform_of(gateway).connection.late  # type: ignore[union-attr]
        room = await settled_dm(alice, bot.user_id)
        message = await Unshared.send(alice, room, "the key comes later")
        await until(lambda: late.pending == 1)
        await message.share_late(bot.user_id)
        reply = await alice.wait_for_message(room, after=message.event_id, sender=bot.user_id)
        await until(lambda: late.pending == 0)
    assert reply.encrypted and reply.body == "the key comes later"


async def test_an_undecryptable_message_gets_one_notice_an_hour_and_a_log_line(
    synapse: SynapseServer,
    matrix_humans: MatrixHumans,
    bot: MatrixBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(batch, "ROOM_KEY_WAIT", 0.3)
    caplog.set_level(logging.WARNING, "hermes.platforms.matrix.undecryptable")
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    configure_e2ee(bot, "required", allowed=[alice.user_id])
    async with bot.running() as gateway:
        late = platform_of(gateway).connection.late  # type: ignore[union-attr]
        room = await settled_dm(alice, bot.user_id)
        lost = (await Unshared.send(alice, room, "nobody can read this")).event_id
        notice = await alice.wait_for_message(room, after=lost, sender=bot.user_id)
        again = (await Unshared.send(alice, room, "nor this")).event_id
        await until(lambda: f"cannot decrypt {again}" in caplog.text)
        await until(lambda: late.pending == 0)
        readable = await alice.send_text(room, "this one is fine")
        await alice.wait_for_message(room, after=readable, sender=bot.user_id)
    assert notice.encrypted and notice.body == NOTICE
    assert [event.body for event in replies_from(alice, room, bot.user_id)] == [
        "hello",
        NOTICE,
        "this one is fine",
    ]
    assert f"cannot decrypt {lost} from {alice.user_id}" in caplog.text
    assert "did not arrive within 0.3 s" in caplog.text
    assert await assert_no_plaintext(synapse, alice, room, bot.user_id) == 3
