"""Who the bot answers, where, and with which context — a real Synapse, real clients on the human side."""

from __future__ import annotations

import pytest

from tests.harness.matrix_user import MatrixHumans
from tests.harness.synapse_server import SynapseServer
from tests.integration.matrix.conftest import MatrixBot, open_dm, open_room, replies_from

pytestmark = pytest.mark.synapse


def user_texts(bot: MatrixBot) -> list[str]:
    return [request.last_user_text for request in bot.llm.chat_requests]


def conversation(bot: MatrixBot, index: int = -1) -> list[str]:
    """The user and assistant turns the model was sent in one request, as text."""
    request = bot.llm.chat_requests[index]
    return [f"{m['role']}: {m['content']}" for m in request.messages if m["role"] in ("user", "assistant")]


async def test_a_dm_is_answered_without_a_mention_and_read(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await alice.send_text(room, "what is **2+2**?")
        reply = await alice.wait_for_message(room, after=sent, sender=bot.user_id)
        await alice.wait_for_event(
            room,
            lambda e: bot.user_id in e.content.get(sent, {}).get("m.read", {}),
            event_type="m.receipt",
        )
    assert reply.body == "what is **2+2**?"
    assert reply.content["formatted_body"] == "<p>what is <strong>2+2</strong>?</p>"
    assert "m.relates_to" not in reply.content
    assert reply.content["m.mentions"] == {}


async def test_a_room_message_needs_a_mention_and_is_answered_in_a_thread(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bob = await matrix_humans.new(synapse, prefix="bob")
    bot.configure(allowed=[alice.user_id, bob.user_id])
    async with bot.running():
        room = await open_room(alice, bot.user_id, bob)
        ignored = await alice.send_text(room, "just chatting with bob")
        asked = await alice.send_text(
            room, f"{bot.account.localpart}: remember the word kumquat", mentions=[bot.user_id]
        )
        reply = await alice.wait_for_message(room, after=ignored, sender=bot.user_id)

        assert reply.relates_to == {
            "rel_type": "m.thread",
            "event_id": asked,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": asked},
        }
        assert reply.body == "remember the word kumquat"
        assert user_texts(bot) == ["remember the word kumquat"]

        follow_up = await alice.send_thread_reply(room, asked, "which word was it?")
        second = await alice.wait_for_message(room, after=follow_up, sender=bot.user_id)
    assert second.relates_to["rel_type"] == "m.thread" and second.relates_to["event_id"] == asked
    assert second.relates_to["m.in_reply_to"] == {"event_id": follow_up}
    assert conversation(bot) == [
        "user: remember the word kumquat",
        "assistant: remember the word kumquat",
        "user: which word was it?",
    ]
    assert len(replies_from(alice, room, bot.user_id)) == 2


async def test_two_people_in_a_room_have_separate_sessions(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bob = await matrix_humans.new(synapse, prefix="bob")
    bot.configure(allowed=[alice.user_id, bob.user_id], matrix={"auto_thread": False})
    async with bot.running():
        room = await open_room(alice, bot.user_id, bob)
        first = await alice.send_text(room, "I am alice", mentions=[bot.user_id])
        await alice.wait_for_message(room, after=first, sender=bot.user_id)
        second = await bob.send_text(room, "I am bob", mentions=[bot.user_id])
        reply = await bob.wait_for_message(room, after=second, sender=bot.user_id)
    assert "m.relates_to" not in reply.content
    assert conversation(bot) == ["user: I am bob"]


async def test_a_room_shares_one_session_when_configured(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bob = await matrix_humans.new(synapse, prefix="bob")
    bot.configure(
        allowed=[alice.user_id, bob.user_id],
        matrix={"auto_thread": False},
        config={"group_sessions_per_user": False},
    )
    async with bot.running():
        room = await open_room(alice, bot.user_id, bob)
        first = await alice.send_text(room, "I am alice", mentions=[bot.user_id])
        await alice.wait_for_message(room, after=first, sender=bot.user_id)
        second = await bob.send_text(room, "I am bob", mentions=[bot.user_id])
        await bob.wait_for_message(room, after=second, sender=bot.user_id)
    assert conversation(bot) == ["user: I am alice", "assistant: I am alice", "user: I am bob"]


async def test_free_response_rooms_need_no_mention(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bob = await matrix_humans.new(synapse, prefix="bob")
    room = await alice.create_room(invite=[bot.user_id, bob.user_id])
    bot.configure(allowed=[alice.user_id, bob.user_id], matrix={"free_response_rooms": [room]})
    async with bot.running():
        await alice.wait_for_membership(room, bot.user_id, "join")
        await bob.join(room)
        sent = await alice.send_text(room, "anyone there?")
        reply = await alice.wait_for_message(room, after=sent, sender=bot.user_id)
    assert reply.body == "anyone there?"
    assert reply.relates_to["event_id"] == sent


async def test_a_person_not_allowed_gets_no_answer(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    mallory = await matrix_humans.new(synapse, prefix="mallory")
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await open_room(alice, bot.user_id, mallory)
        denied = await mallory.send_text(room, "mallory wants an answer", mentions=[bot.user_id])
        allowed = await alice.send_text(room, "alice wants an answer", mentions=[bot.user_id])
        await alice.wait_for_message(room, after=allowed, sender=bot.user_id)
    assert user_texts(bot) == ["alice wants an answer"]
    replies = replies_from(alice, room, bot.user_id)
    assert [r.relates_to.get("event_id") for r in replies] == [allowed]
    assert denied not in str([r.content for r in replies])


async def test_notices_edits_and_ignored_users_are_not_answered(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    relay = await matrix_humans.new(synapse, prefix="relaybot")
    bot.configure(
        allowed=["*"],
        matrix={"require_mention": False, "auto_thread": False, "ignore_user_patterns": ["@relaybot-.*"]},
    )
    async with bot.running():
        room = await open_room(alice, bot.user_id, relay)
        first = await alice.send_text(room, "first")
        await alice.wait_for_message(room, after=first, sender=bot.user_id)
        await alice.send_edit(room, first, "first, edited")
        await alice.send_event(room, "m.room.message", {"msgtype": "m.notice", "body": "a notice"})
        await relay.send_text(room, "relayed chatter")
        last = await alice.send_text(room, "second")
        await alice.wait_for_message(room, after=last, sender=bot.user_id)
    assert user_texts(bot) == ["first", "second"]


async def test_a_thread_the_bot_took_part_in_needs_no_mention_after_a_restart(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bob = await matrix_humans.new(synapse, prefix="bob")
    bot.configure(allowed=[alice.user_id, bob.user_id])
    async with bot.running():
        room = await open_room(alice, bot.user_id, bob)
        asked = await alice.send_text(room, "start a thread", mentions=[bot.user_id])
        await alice.wait_for_message(room, after=asked, sender=bot.user_id)
        other = await bob.send_text(room, "a thread without the bot")
    async with bot.running():
        await bob.send_thread_reply(room, other, "still not for the bot")
        follow_up = await alice.send_thread_reply(room, asked, "and now?")
        reply = await alice.wait_for_message(room, after=follow_up, sender=bot.user_id)
    assert reply.relates_to["event_id"] == asked
    assert user_texts(bot) == ["start a thread", "and now?"]
