"""Encrypted attachments: decrypted on the way in (their hash checked), encrypted client-side on the way
out, so the media repository only ever holds ciphertext."""

from __future__ import annotations

import asyncio
import base64
import urllib.request
from pathlib import Path

import pytest
from mautrix.crypto.attachments import encrypt_attachment

from hermes.platforms.base import Attachment, ChatRef
from tests.harness.matrix_user import MatrixHumans
from tests.harness.synapse_server import SynapseServer
from tests.integration.matrix.conftest import MatrixBot, platform_of
from tests.integration.matrix.e2ee import assert_no_plaintext, configure_e2ee, open_encrypted_dm

pytestmark = pytest.mark.synapse

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5e9d6ad0000000049454e44ae426082"
)


def fetch_media(server: SynapseServer, token: str, mxc: str) -> tuple[bytes, str]:
    """The stored bytes of an upload and the file name the server would give it."""
    server_name, media_id = mxc.removeprefix("mxc://").split("/", 1)
    url = f"{server.base_url}/_matrix/client/v1/media/download/{server_name}/{media_id}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return response.read(), response.headers.get("Content-Disposition") or ""


async def test_an_encrypted_image_reaches_the_model_and_a_bad_hash_is_refused(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    configure_e2ee(bot, "required", allowed=[alice.user_id])
    async with bot.running():
        room = await open_encrypted_dm(alice, bot.user_id)
        sent = await alice.send_image(room, PNG_1X1, "dot.png", width=1, height=1)
        await alice.wait_for_message(room, after=sent, sender=bot.user_id)
        image_request = bot.llm.chat_requests[-1]
        ciphertext, encrypted_file = encrypt_attachment(b"not what the hash says")
        encrypted_file.url = await alice.client.upload_media(ciphertext, mime_type="application/octet-stream")
        tampered = encrypted_file.serialize()
        tampered["hashes"]["sha256"] = base64.b64encode(b"\0" * 32).decode().rstrip("=")
        content = {
            "msgtype": "m.file",
            "body": "forged.txt",
            "info": {"mimetype": "text/plain", "size": 22},
            "file": tampered,
        }
        forged = await alice.send_event(room, "m.room.message", content)
        await alice.wait_for_message(room, after=forged, sender=bot.user_id)
    parts = image_request.messages[-1]["content"]
    urls = [part["image_url"]["url"] for part in parts if part.get("type") == "image_url"]
    assert urls == [f"data:image/png;base64,{base64.b64encode(PNG_1X1).decode()}"]
    assert bot.llm.chat_requests[-1].last_user_text == (
        "[an attachment could not be received: forged.txt could not be decrypted: its content does not "
        "match its SHA-256 hash]"
    )
    cached = list((bot.home / "cache" / "media" / "matrix").iterdir())
    assert [path.read_bytes() for path in cached] == [PNG_1X1]


async def test_a_file_sent_into_an_encrypted_room_is_encrypted_client_side(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot, tmp_path: Path
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    report = tmp_path / "report.csv"
    report.write_bytes(b"quarter,revenue\nQ1,secret\n")
    configure_e2ee(bot, "required", allowed=[alice.user_id])
    async with bot.running() as gateway:
        room = await open_encrypted_dm(alice, bot.user_id)
        attachment = Attachment("report.csv", "text/csv", str(report), report.stat().st_size)
        sent = await platform_of(gateway).send(
            ChatRef("matrix", room, "dm"), "", idempotency_key="report:1", attachments=[attachment]
        )
        event = await alice.wait_for_message(room, lambda e: e.event_id == sent.message_id)
        received = await alice.download(event.content)
    assert event.encrypted and event.content["msgtype"] == "m.file" and "url" not in event.content
    assert event.content["body"] == "report.csv" and event.content["info"]["mimetype"] == "text/csv"
    assert received == report.read_bytes()
    stored, disposition = await asyncio.to_thread(
        fetch_media, synapse, alice.account.access_token, event.content["file"]["url"]
    )
    assert stored != report.read_bytes() and b"secret" not in stored
    assert "report" not in disposition
    assert await assert_no_plaintext(synapse, alice, room, bot.user_id) == 1


async def test_a_cached_decrypted_file_is_not_handed_to_an_event_without_its_key(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot
) -> None:
    # The attack: Bob saw the mxc URL of Alice's encrypted file (it travels in the clear to the media
    # repository) and names it in events of his own, with no key or a made-up one. A cache keyed by the URL
    # alone handed him Alice's decrypted bytes.
    secret = b"alice's private notes: the vault code is 2468\n"
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    bob = await matrix_humans.new(synapse, prefix="bob")
    configure_e2ee(bot, "optional", allowed=[alice.user_id, bob.user_id])

    def saved_path(text: str) -> Path:
        return Path(text.rsplit(" saved at ", 1)[1].rstrip("]"))

    async with bot.running():
        room = await open_encrypted_dm(alice, bot.user_id)
        sent = await alice.send_file(room, secret, "notes.txt", "text/plain")
        await alice.wait_for_message(room, after=sent, sender=bot.user_id)
        alices = saved_path(bot.llm.chat_requests[-1].last_user_text)
        original = next(e for e in alice.events(room) if e.event_id == sent).content["file"]
        bobs_room = await bob.create_room(invite=[bot.user_id], direct=True)
        await bob.wait_for_membership(bobs_room, bot.user_id, "join")
        info = {"mimetype": "text/plain", "size": len(secret)}
        _, other = encrypt_attachment(b"x")
        forged_file = {**original, "key": other.serialize()["key"], "iv": other.serialize()["iv"]}
        seen: list[bytes] = []
        for content in (
            {"msgtype": "m.file", "body": "no-key.txt", "info": info, "url": original["url"]},
            {"msgtype": "m.file", "body": "wrong-key.txt", "info": info, "file": forged_file},
        ):
            event = await bob.send_event(bobs_room, "m.room.message", content)
            await bob.wait_for_message(bobs_room, after=event, sender=bot.user_id)
            path = saved_path(bot.llm.chat_requests[-1].last_user_text)
            assert path != alices
            seen.append(path.read_bytes())
        # A cached file that no longer matches its event's hash is fetched again, not handed out.
        alices.write_bytes(b"swapped on disk")
        again = await alice.send_event(
            room, "m.room.message", {"msgtype": "m.file", "body": "notes.txt", "info": info, "file": original}
        )
        await alice.wait_for_message(room, after=again, sender=bot.user_id)
        assert saved_path(bot.llm.chat_requests[-1].last_user_text) == alices
    assert alices.read_bytes() == secret
    assert secret not in seen and all(b"vault" not in data for data in seen)
