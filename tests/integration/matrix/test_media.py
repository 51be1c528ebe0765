"""Inbound media: images to the model, files described, size limits, voice messages transcribed or refused."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from hermes.platforms.matrix.voice import NOT_SET_UP
from tests.fakes.llm import Error, Transcription
from tests.harness.matrix_user import MatrixHuman, MatrixHumans
from tests.harness.synapse_server import SynapseServer
from tests.integration.matrix.conftest import MatrixBot, open_dm

pytestmark = pytest.mark.synapse

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5e9d6ad0000000049454e44ae426082"
)


def image_urls(bot: MatrixBot) -> list[str]:
    content = bot.llm.chat_requests[-1].messages[-1]["content"]
    return [part["image_url"]["url"] for part in content if part.get("type") == "image_url"]


async def send_voice(human: MatrixHuman, room_id: str, spoken: bytes) -> str:
    mxc = await human.client.upload_media(spoken, mime_type="audio/ogg", filename="voice.ogg")
    content: dict[str, Any] = {
        "msgtype": "m.audio",
        "body": "Voice message",
        "url": str(mxc),
        "info": {"mimetype": "audio/ogg", "size": len(spoken), "duration": 1200},
        "org.matrix.msc1767.audio": {"duration": 1200},
        "org.matrix.msc3245.voice": {},
    }
    return await human.send_event(room_id, "m.room.message", content)


async def test_an_image_reaches_the_model_as_image_input(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await alice.send_image(room, PNG_1X1, "dot.png", width=1, height=1)
        await alice.wait_for_message(room, after=sent, sender=bot.user_id)
    assert image_urls(bot) == [f"data:image/png;base64,{base64.b64encode(PNG_1X1).decode()}"]
    cached = list((bot.home / "cache" / "media" / "matrix").iterdir())
    assert [path.read_bytes() for path in cached] == [PNG_1X1]


async def test_a_file_is_described_to_the_model_with_its_local_copy(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await alice.send_file(room, b"a,b\n1,2\n", "data.csv", "text/csv")
        await alice.wait_for_message(room, after=sent, sender=bot.user_id)
    text = bot.llm.chat_requests[-1].last_user_text
    assert text.startswith("[data.csv (text/csv, 8 bytes) saved at ")
    saved = text.removeprefix("[data.csv (text/csv, 8 bytes) saved at ").removesuffix("]")
    assert await asyncio.to_thread(Path(saved).read_bytes) == b"a,b\n1,2\n"


async def test_an_attachment_over_the_size_limit_is_not_downloaded_and_the_model_is_told(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(allowed=[alice.user_id], matrix={"max_media_bytes": 1000})
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await alice.send_file(room, b"x" * 5000, "big.bin")
        await alice.wait_for_message(room, after=sent, sender=bot.user_id)
        # A file that hides its size is cut off while downloading.
        content = {
            "msgtype": "m.file",
            "body": "sneaky.bin",
            "url": str(await alice.client.upload_media(b"y" * 5000)),
        }
        sneaky = await alice.send_event(room, "m.room.message", content)
        await alice.wait_for_message(room, after=sneaky, sender=bot.user_id)
    first, second = (request.last_user_text for request in bot.llm.chat_requests)
    assert (
        first
        == "[an attachment could not be received: big.bin is too large (4.9 KiB): the limit is 1000 bytes]"
    )
    assert second == "[an attachment could not be received: sneaky.bin is too large: the limit is 1000 bytes]"
    assert not (bot.home / "cache" / "media" / "matrix").exists()


async def test_a_voice_message_is_transcribed_for_the_model(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.llm.script(Transcription("what is the weather like"))
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await send_voice(alice, room, b"(audio)")
        reply = await alice.wait_for_message(room, after=sent, sender=bot.user_id)
    assert reply.body == "[voice message] what is the weather like"
    upload = bot.llm.requests[0]
    assert upload.path == "/v1/audio/transcriptions"
    assert upload.form["model"] == "whisper-1"


async def test_a_failed_transcription_is_reported_to_the_sender(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.llm.script_audio(Error(400, "bad audio"))
    bot.configure(allowed=[alice.user_id])
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await send_voice(alice, room, b"(noise)")
        reply = await alice.wait_for_message(room, after=sent, sender=bot.user_id)
    assert reply.body == "🎤 Sorry, I could not transcribe that voice message."
    assert bot.llm.chat_requests == []


async def test_without_transcription_the_sender_is_told_voice_is_not_set_up(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, prefix="alice")
    bot.configure(
        allowed=[alice.user_id],
        model={
            "provider": "anthropic",
            "base_url": bot.llm.anthropic_base_url,
            "api_key": "test-key",
            "default": "fake-model",
        },
    )
    async with bot.running():
        room = await open_dm(alice, bot.user_id)
        sent = await send_voice(alice, room, b"(audio)")
        reply = await alice.wait_for_message(room, after=sent, sender=bot.user_id)
    assert reply.body == NOT_SET_UP
    assert bot.llm.requests == []
