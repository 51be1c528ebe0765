"""Encrypted rooms with real encrypting clients: every message the bot reads is decrypted, and every event
it puts in the room (replies, edits, reactions, notifications, redactions) is encrypted on the server."""

from __future__ import annotations

import pytest

from hermes.platforms.base import ChatRef, MessageRef
from tests.harness.matrix_user import MatrixHumans
from tests.harness.synapse_server import SynapseServer
from tests.integration.matrix.conftest import MatrixBot, platform_of, replies_from
from tests.integration.matrix.e2ee import assert_no_plaintext, configure_e2ee, open_encrypted_dm

pytestmark = pytest.mark.synapse


async def test_an_encrypted_dm_works_both_ways_and_nothing_leaves_in_plaintext(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    configure_e2ee(bot, "required", allowed=[alice.user_id])
    async with bot.running() as gateway:
        platform = platform_of(gateway)
        room = await open_encrypted_dm(alice, bot.user_id)
        sent = await alice.send_text(room, "what is the secret word?")
        reply = await alice.wait_for_message(room, after=sent, sender=bot.user_id)
        chat = ChatRef("matrix", room, "dm")
        notice = await platform.send(chat, "the nightly report is ready", idempotency_key="cron:1")
        await alice.wait_for_message(room, lambda e: e.event_id == notice.message_id)
        await platform.edit(MessageRef(chat, notice.message_id), "the nightly report is late")
        edit = await alice.wait_for_edit(room, notice.message_id)
        sender = platform._sender()
        reaction = await sender.send_event(
            room, "m.reaction", {"m.relates_to": {"rel_type": "m.annotation", "event_id": sent, "key": "👀"}}
        )
        seen = await alice.wait_for_event(room, lambda e: e.event_id == reaction, event_type="m.reaction")
        await sender.redact(room, notice.message_id, reason="a secret reason")
        await alice.wait_for_event(room, lambda e: e.raw.get("redacts") == notice.message_id)
    assert bot.llm.chat_requests[-1].last_user_text == "what is the secret word?"
    assert reply.encrypted and reply.body == "what is the secret word?"
    assert edit.encrypted and edit.content["m.new_content"]["body"] == "the nightly report is late"
    assert seen.encrypted and seen.relates_to["key"] == "👀"
    assert await assert_no_plaintext(synapse, alice, room, bot.user_id) == 5


async def test_an_encrypted_group_room_with_two_people(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    bob = await matrix_humans.new(synapse, encryption=True, prefix="bob")
    configure_e2ee(bot, "required", allowed=[alice.user_id, bob.user_id])
    async with bot.running():
        room = await alice.create_room(invite=[bot.user_id, bob.user_id], encrypted=True)
        await bob.wait_for_invite(lambda invite: invite.room_id == room)
        await bob.join(room)
        await alice.wait_for_membership(room, bot.user_id, "join")
        await alice.wait_for_membership(room, bob.user_id, "join")
        name = bot.account.localpart
        first = await alice.send_text(room, f"{name}: alice asks", mentions=[bot.user_id])
        to_alice = await bob.wait_for_message(room, lambda e: e.body == "alice asks", sender=bot.user_id)
        second = await bob.send_text(room, f"{name}: bob asks", mentions=[bot.user_id])
        to_bob = await alice.wait_for_message(room, lambda e: e.body == "bob asks", sender=bot.user_id)
        await alice.wait_for_message(room, lambda e: e.event_id == to_alice.event_id)
        await bob.wait_for_message(room, lambda e: e.event_id == to_bob.event_id)
    assert to_alice.encrypted and to_bob.encrypted
    assert to_alice.relates_to["event_id"] == first and to_bob.relates_to["event_id"] == second
    assert [e.body for e in replies_from(alice, room, bot.user_id)] == ["alice asks", "bob asks"]
    assert await assert_no_plaintext(synapse, bob, room, bot.user_id) == 2
