"""Human-side Matrix clients against the real Synapse: rooms, messages, relations, media, E2EE."""

from __future__ import annotations

import asyncio
import gc
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from mautrix.errors import MUnknownToken

from tests.harness.matrix_content import HTML
from tests.harness.matrix_timeline import SyncStoppedError
from tests.harness.matrix_user import MatrixHuman, MatrixHumans
from tests.harness.synapse_server import SynapseServer

pytestmark = pytest.mark.synapse

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5e9d6ad0000000049454e44ae426082"
)


async def shared_room(alice: MatrixHuman, bob: MatrixHuman, *, encrypted: bool = False) -> str:
    """Alice creates a room and invites Bob; Bob accepts; returns once Alice has seen him join."""
    room_id = await alice.create_room(invite=[bob.user_id], encrypted=encrypted)
    invite = await bob.wait_for_invite(lambda invite: invite.room_id == room_id)
    assert invite.sender == alice.user_id
    await bob.join(room_id)
    await alice.wait_for_membership(room_id, bob.user_id, "join")
    return room_id


async def test_invited_human_joins_and_receives_the_message_as_sent(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bob = await matrix_humans.new(synapse, prefix="bob")
    room_id = await shared_room(alice, bob)

    sent = await alice.send_formatted(room_id, "hello bob", "<p>hello <b>bob</b></p>", mentions=[bob.user_id])
    received = await bob.wait_for_message(room_id)

    assert received.event_id == sent
    assert received.sender == alice.user_id
    assert received.content == {
        "msgtype": "m.text",
        "body": "hello bob",
        "format": HTML,
        "formatted_body": "<p>hello <b>bob</b></p>",
        "m.mentions": {"user_ids": [bob.user_id]},
    }
    assert not received.encrypted


async def test_direct_room_invite_is_marked_direct(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse)
    bob = await matrix_humans.new(synapse)

    room_id = await alice.create_room(invite=[bob.user_id], direct=True)
    invite = await bob.wait_for_invite()

    assert invite.room_id == room_id
    assert invite.content["membership"] == "invite"
    assert invite.content["is_direct"] is True


async def test_thread_reply_carries_its_relation_as_sent(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse)
    bob = await matrix_humans.new(synapse)
    room_id = await shared_room(alice, bob)
    root = await alice.send_text(room_id, "root")
    await bob.wait_for_message(room_id, lambda event: event.event_id == root)

    reply = await bob.send_thread_reply(room_id, root, "in the thread", mentions=[])
    received = await alice.wait_for_message(room_id, after=root)

    assert received.event_id == reply
    assert received.body == "in the thread"
    assert received.relates_to == {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }
    assert received.content["m.mentions"] == {"user_ids": []}


async def test_reply_and_reaction_carry_their_relations(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse)
    bob = await matrix_humans.new(synapse)
    room_id = await shared_room(alice, bob)
    question = await alice.send_text(room_id, "question")

    answer = await bob.send_text(room_id, "answer", reply_to=question)
    reaction = await bob.send_reaction(room_id, question, "👍")

    seen_answer = await alice.wait_for_message(room_id, after=question)
    seen_reaction = await alice.wait_for_event(room_id, event_type="m.reaction")
    assert seen_answer.event_id == answer
    assert seen_answer.relates_to == {"m.in_reply_to": {"event_id": question}}
    assert seen_reaction.event_id == reaction
    assert seen_reaction.relates_to == {"rel_type": "m.annotation", "event_id": question, "key": "👍"}


async def test_invite_and_leave_are_seen_by_the_other_human(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse)
    bob = await matrix_humans.new(synapse)
    room_id = await alice.create_room(name="later invite")

    await alice.invite(room_id, bob.user_id)
    await alice.wait_for_membership(room_id, bob.user_id, "invite")
    await bob.join((await bob.wait_for_invite()).room_id)
    await alice.wait_for_membership(room_id, bob.user_id, "join")
    await bob.leave(room_id)

    left = await alice.wait_for_membership(room_id, bob.user_id, "leave")
    assert left.sender == bob.user_id


async def test_edit_is_seen_as_replace_and_not_as_a_new_message(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse)
    bob = await matrix_humans.new(synapse)
    room_id = await shared_room(alice, bob)
    original = await alice.send_text(room_id, "draft")

    edit = await alice.send_edit(room_id, original, "final")
    following = await alice.send_text(room_id, "next")

    seen_edit = await bob.wait_for_edit(room_id, original)
    assert seen_edit.event_id == edit
    assert seen_edit.body == "* final"
    assert seen_edit.content["m.new_content"] == {"msgtype": "m.text", "body": "final"}
    assert (await bob.wait_for_message(room_id, after=original)).event_id == following


async def test_own_messages_are_skipped_unless_asked_for(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse)
    room_id = await alice.create_room()

    sent = await alice.send_text(room_id, "note to self")

    own = await alice.wait_for_message(room_id, include_own=True)
    assert own.event_id == sent
    assert [event.event_id for event in alice.events(room_id) if event.type == "m.room.message"] == [sent]
    with pytest.raises(TimeoutError):
        await alice.wait_for_message(room_id, timeout=0.2)


async def test_file_and_image_round_trip(synapse: SynapseServer, matrix_humans: MatrixHumans) -> None:
    alice = await matrix_humans.new(synapse)
    bob = await matrix_humans.new(synapse)
    room_id = await shared_room(alice, bob)

    file_id = await alice.send_file(room_id, b"report,1\n", "report.csv", "text/csv")
    image_id = await alice.send_image(room_id, PNG_1X1, "dot.png", width=1, height=1)

    file_event = await bob.wait_for_message(room_id, lambda event: event.event_id == file_id)
    image_event = await bob.wait_for_message(room_id, lambda event: event.event_id == image_id)
    assert file_event.content["msgtype"] == "m.file"
    assert file_event.content["info"] == {"mimetype": "text/csv", "size": 9}
    assert file_event.content["url"].startswith("mxc://localhost/")
    assert await bob.download(file_event.content) == b"report,1\n"
    assert image_event.content["msgtype"] == "m.image"
    assert image_event.content["info"] == {"mimetype": "image/png", "size": len(PNG_1X1), "w": 1, "h": 1}
    assert await bob.download(image_event.content) == PNG_1X1


async def test_typing_is_seen_by_the_other_human(synapse: SynapseServer, matrix_humans: MatrixHumans) -> None:
    alice = await matrix_humans.new(synapse)
    bob = await matrix_humans.new(synapse)
    room_id = await shared_room(alice, bob)

    await alice.set_typing(room_id)
    await bob.wait_for_typing(room_id, alice.user_id)
    await alice.set_typing(room_id, typing=False)
    stopped = await bob.wait_for_typing(room_id, alice.user_id, typing=False)

    assert alice.user_id not in stopped.content["user_ids"]


async def test_waiting_in_vain_times_out_with_what_was_seen(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse)
    bob = await matrix_humans.new(synapse)
    room_id = await shared_room(alice, bob)
    await alice.send_text(room_id, "the only message")
    await bob.wait_for_message(room_id)

    with pytest.raises(TimeoutError) as waited:
        await bob.wait_for_message(room_id, lambda event: event.body == "never sent", timeout=0.3)

    description = str(waited.value)
    assert room_id in description
    assert "the only message" in description
    with pytest.raises(TimeoutError, match="!no-such-room"):
        await bob.wait_for_message("!no-such-room", timeout=0.1)
    with pytest.raises(TimeoutError, match="no matching invite"):
        await bob.wait_for_invite(lambda invite: invite.room_id == "!elsewhere", timeout=0.1)
    # Still syncing after the timeouts.
    await alice.send_text(room_id, "still there?")
    assert (
        await bob.wait_for_message(room_id, lambda event: event.body == "still there?")
    ).sender == alice.user_id


async def test_encrypted_exchange_is_decrypted_by_both_humans(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    bob = await matrix_humans.new(synapse, encryption=True, prefix="bob")
    assert alice.can_encrypt
    assert bob.can_encrypt
    room_id = await shared_room(alice, bob, encrypted=True)

    sent = await alice.send_formatted(room_id, "secret", "<i>secret</i>")
    received = await bob.wait_for_message(room_id)
    reply = await bob.send_thread_reply(room_id, sent, "secret reply")
    answered = await alice.wait_for_message(room_id, after=sent)

    assert received.event_id == sent
    assert received.encrypted
    assert received.raw["type"] == "m.room.encrypted"
    assert "ciphertext" in received.raw["content"]
    assert received.content == {
        "msgtype": "m.text",
        "body": "secret",
        "format": HTML,
        "formatted_body": "<i>secret</i>",
    }
    assert answered.event_id == reply
    assert answered.encrypted
    assert answered.body == "secret reply"
    assert answered.relates_to["rel_type"] == "m.thread"
    assert answered.relates_to["event_id"] == sent


async def test_encrypted_file_is_uploaded_encrypted_and_decrypted_on_download(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True)
    bob = await matrix_humans.new(synapse, encryption=True)
    room_id = await shared_room(alice, bob, encrypted=True)

    await alice.send_file(room_id, b"top secret bytes", "secret.txt", "text/plain")
    received = await bob.wait_for_message(room_id)

    assert received.encrypted
    assert "url" not in received.content
    assert received.content["file"]["url"].startswith("mxc://localhost/")
    assert await bob.client.download_media(received.content["file"]["url"]) != b"top secret bytes"
    assert await bob.download(received.content) == b"top secret bytes"


async def test_plain_human_in_an_encrypted_room_sees_undecrypted_events(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True)
    eve = await matrix_humans.new(synapse)
    room_id = await shared_room(alice, eve, encrypted=True)

    sent = await alice.send_text(room_id, "not for plain clients")
    seen = await eve.wait_for_event(room_id, lambda event: event.event_id == sent)

    assert seen.type == "m.room.encrypted"
    assert not seen.encrypted
    assert "not for plain clients" not in str(seen.content)


async def test_encrypted_human_reconnects_on_a_new_device(
    synapse: SynapseServer, matrix_humans: MatrixHumans
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True)
    bob = await matrix_humans.new(synapse, encryption=True)
    room_id = await shared_room(alice, bob, encrypted=True)
    second_device = await matrix_humans.connect(synapse, await synapse.login(bob.account), encryption=True)

    await alice.send_text(room_id, "to both devices")

    for device in (bob, second_device):
        received = await device.wait_for_message(room_id, lambda event: event.body == "to both devices")
        assert received.encrypted


async def test_closing_leaves_no_tasks_or_open_sessions(synapse: SynapseServer, tmp_path: Path) -> None:
    # Clients other tests dropped schedule their own close when collected: let that happen first, so
    # only tasks left by these humans count.
    gc.collect()
    await asyncio.sleep(0.05)
    before = asyncio.all_tasks()
    humans = MatrixHumans(tmp_path)
    alice = await humans.new(synapse, encryption=True)
    bob = await humans.new(synapse)
    await shared_room(alice, bob, encrypted=True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await humans.close()
        await alice.close()
        gc.collect()

    others = asyncio.all_tasks() - before - {asyncio.current_task()}
    assert [task for task in others if not task.done()] == []
    assert alice.client.api.session.closed
    assert bob.client.api.session.closed
    assert [str(warning.message) for warning in caught] == []


async def test_a_bad_token_fails_to_connect_clearly(synapse: SynapseServer, tmp_path: Path) -> None:
    account = await synapse.register()
    bogus = replace(account, access_token="not-a-token")
    humans = MatrixHumans(tmp_path)

    with pytest.raises(SyncStoppedError, match="M_UNKNOWN_TOKEN"):
        await humans.connect(synapse, bogus)
    with pytest.raises(MUnknownToken):
        await humans.connect(synapse, bogus, encryption=True)

    others = asyncio.all_tasks() - {asyncio.current_task()}
    assert [task for task in others if not task.done()] == []
    human = await humans.connect(synapse, account, encryption=True)
    assert human.timeline.syncs >= 1
    await humans.close()
