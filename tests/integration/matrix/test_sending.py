"""What the bot puts on the wire: HTML, pills, split and streamed replies, files, idempotent sends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hermes.agent.contract import Origin
from hermes.gateway.approvals import send_to_target
from hermes.platforms.base import Attachment, ChatRef
from tests.fakes.llm import Text
from tests.harness.matrix_user import MatrixHumans
from tests.harness.synapse_server import SynapseServer
from tests.integration.matrix.conftest import (
    MatrixBot,
    latest_text,
    open_dm,
    open_room,
    platform_of,
    replies_from,
)

pytestmark = pytest.mark.synapse

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5e9d6ad0000000049454e44ae426082"
)


async def test_a_markdown_table_arrives_as_an_html_table_and_users_as_pills(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    table = f"| who | score |\n|-----|------:|\n| {alice.user_id} | 3 |"
    bot.llm.script(Text(table))
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await alice.send_text(room, "scores?")
        reply = await alice.wait_for_message(room, after=sent, sender=bot.user_id)
    assert reply.body == table
    assert reply.content["format"] == "org.matrix.custom.html"
    html = reply.content["formatted_body"]
    assert html.startswith("<table>") and "<th>who</th>" in html
    assert '<td style="text-align:right">3</td>' in html
    assert f'<td><a href="https://matrix.to/#/{alice.user_id}">{alice.user_id}</a></td>' in html
    assert reply.content["m.mentions"] == {"user_ids": [alice.user_id]}


async def test_a_long_reply_is_split_at_sixteen_thousand_characters(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum " * 25 for i in range(120)]
    bot.llm.script(Text("\n\n".join(paragraphs)))
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await alice.send_text(room, "tell me everything")
        await alice.wait_for_message(
            room, lambda e: "(3/3)" in (e.body or ""), after=sent, sender=bot.user_id
        )
        first = replies_from(alice, room, bot.user_id)[0]
        await alice.wait_for_edit(
            room, first.event_id or "", lambda e: "(1/3)" in e.content["m.new_content"]["body"]
        )
    chunks = [latest_text(alice, room, event) for event in replies_from(alice, room, bot.user_id)]
    assert len(chunks) == 3
    assert all(len(chunk) <= 16_000 for chunk in chunks)
    joined = "\n\n".join(chunks)
    assert all(joined.count(f"Paragraph {i}: ") == 1 for i in range(120))


async def test_a_streamed_reply_is_one_message_edited_in_place(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.llm.instant = False
    words = "one two three four five six"
    bot.llm.script(Text(words, chunk_delay=0.3))
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await alice.send_text(room, "count")
        reply = await alice.wait_for_message(room, after=sent, sender=bot.user_id)
        final = await alice.wait_for_edit(
            room, reply.event_id or "", lambda e: e.content["m.new_content"]["body"] == words
        )
    assert reply.body != words
    assert final.content["body"] == f"* {words}"
    assert len(replies_from(alice, room, bot.user_id)) == 1


async def test_files_are_uploaded_audio_is_a_voice_message_and_sends_are_idempotent(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot, tmp_path: Path
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    image = tmp_path / "dot.png"
    image.write_bytes(PNG_1X1)
    audio = tmp_path / "speech.ogg"
    audio.write_bytes(b"OggS fake audio")
    attachments = [
        Attachment("dot.png", "image/png", str(image), len(PNG_1X1)),
        Attachment("speech.ogg", "audio/ogg", str(audio), audio.stat().st_size),
    ]
    bot.configure(allowed=[alice.user_id])
    async with bot.running() as gateway:
        room = await open_dm(alice, bot.user_id)
        platform = platform_of(gateway)
        chat = ChatRef("matrix", room, "dm")
        first = await platform.send(chat, "here you go", idempotency_key="files-1", attachments=attachments)
        again = await platform.send(chat, "here you go", idempotency_key="files-1", attachments=attachments)
        marker = await platform.send(chat, "done", idempotency_key="files-2")
        await alice.wait_for_message(room, lambda e: e.event_id == marker.message_id)
    assert first == again
    messages = replies_from(alice, room, bot.user_id)
    assert [m.content["msgtype"] for m in messages] == ["m.text", "m.image", "m.audio", "m.text"]
    picture, voice = messages[1], messages[2]
    assert picture.content["info"] == {"mimetype": "image/png", "size": len(PNG_1X1)}
    assert await alice.download(picture.content) == PNG_1X1
    assert "org.matrix.msc3245.voice" in voice.content
    assert await alice.download(voice.content) == b"OggS fake audio"


async def test_proactive_messages_go_to_the_home_room(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    room = await alice.create_room(invite=[bot.user_id])
    bot.configure(allowed=[alice.user_id], env={"MATRIX_HOME_ROOM": room})
    async with bot.running() as gateway:
        await alice.wait_for_membership(room, bot.user_id, "join")
        assert gateway.gateway.hub is not None
        await send_to_target(gateway.gateway.hub, "home:matrix", "the nightly report is ready")
        report = await alice.wait_for_message(room, sender=bot.user_id)
    assert report.body == "the nightly report is ready"


async def test_sethome_in_a_room_makes_the_room_itself_home(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bob = await matrix_humans.new(synapse, prefix="bob")
    bot.configure(allowed=[alice.user_id])
    async with bot.running() as gateway:
        room = await open_room(alice, bot.user_id, bob)
        sent = await alice.send_text(room, f"{bot.account.localpart}: /sethome", mentions=[bot.user_id])
        answer = await alice.wait_for_message(room, after=sent, sender=bot.user_id)
        assert gateway.gateway.hub is not None
        await send_to_target(gateway.gateway.hub, "home:matrix", "the nightly report is ready")
        report = await alice.wait_for_message(room, after=answer.event_id, sender=bot.user_id)
    assert answer.body is not None and answer.body.startswith("🏠")
    assert "m.relates_to" not in answer.content and "m.relates_to" not in report.content
    assert report.body == "the nightly report is ready"


async def test_a_reaction_answers_an_approval_question(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id])
    async with bot.running() as gateway:
        hub = gateway.gateway.hub
        assert hub is not None
        room = await open_dm(alice, bot.user_id)
        origin = Origin("matrix", room, "dm", None, alice.user_id)
        for reaction, expected in (("✅", True), ("❌", False)):
            asking = asyncio.create_task(
                hub.approvals.ask(platform_of(gateway), origin, f"Run the job ({reaction})?", 20)
            )
            question = await alice.wait_for_message(
                room, lambda e, r=reaction: f"({r})" in (e.body or ""), sender=bot.user_id
            )
            await alice.send_reaction(room, question.event_id or "", reaction)
            assert await asyncio.wait_for(asking, 10) is expected
    assert bot.llm.chat_requests == []
