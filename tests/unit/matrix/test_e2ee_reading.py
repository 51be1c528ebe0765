"""Reading encrypted rooms: decryption before the event reader, late room keys read in the background with
the cursor held back, undecryptable messages noticed (at most hourly), encrypted rooms skipped without
encryption."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from hermes.platforms.base import ChatRef, Inbound
from hermes.platforms.matrix.batch import BatchReader, Decryption
from hermes.platforms.matrix.late_events import LateEvents
from hermes.platforms.matrix.sync import SyncLoop
from hermes.platforms.matrix.undecryptable import NOTICE, UndecryptableNotices
from tests.fakes.hub import FakeHub
from tests.unit.matrix.encryption_fakes import FakeE2EE, KnownRooms, Spawned, plain_decryption
from tests.unit.matrix.test_batch import Direct, Invites, Reader, Rooms, sync, text
from tests.unit.matrix.test_sync_and_sender import BOT, ScriptedHTTP, inbound, stop

ROOM = "!secret:x"


def encrypted(event_id: str, sender: str = "@alice:x", **content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.encrypted",
        "event_id": event_id,
        "sender": sender,
        "content": {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "…", **content},
    }


class BodyReader(Reader):
    async def read(self, room_id: str, event: dict[str, Any]) -> Inbound | None:
        self.seen.append((room_id, event["content"].get("body", event["type"])))
        if event["sender"] == BOT:
            return None
        return Inbound(
            event["event_id"], ChatRef("matrix", room_id, "dm"), event["sender"], "a", "t", True, 0.0
        )


def reader_with(
    e2ee: FakeE2EE | None, hub: Any = None, encrypted_rooms: tuple[str, ...] = (ROOM,)
) -> tuple[BatchReader, BodyReader, Decryption, list[tuple[ChatRef, str, str]]]:
    notices: list[tuple[ChatRef, str, str]] = []

    async def send_text(chat: ChatRef, body: str, *, idempotency_key: str) -> str:
        notices.append((chat, body, idempotency_key))
        return "$notice"

    spawned = Spawned()
    decryption = Decryption(
        KnownRooms(encrypted_rooms, off_reason="encryption is off" if e2ee is None else None),
        e2ee,  # type: ignore[arg-type]
        LateEvents(hub or FakeHub()),
        UndecryptableNotices(send_text, lambda user: user != "@stranger:x", spawned),
    )
    reader = BodyReader()
    batch = BatchReader(None, BOT, reader, Invites(), Rooms(), Direct(), decryption)  # type: ignore[arg-type]
    batch.spawned = spawned  # type: ignore[attr-defined]
    return batch, reader, decryption, notices


async def test_encrypted_events_are_read_as_their_plaintext_after_the_crypto_saw_the_batch() -> None:
    e2ee = FakeE2EE({"$1": "hello", "$3": "again"})
    batch, reader, _, _ = reader_with(e2ee)
    timeline = [
        encrypted("$1"),
        encrypted("$2", sender=BOT, **{"m.relates_to": {"rel_type": "m.thread"}}),
        encrypted("$3"),
    ]
    answer = sync({ROOM: {"timeline": {"events": timeline}}})
    result = await batch.read(answer, "s1")
    assert [i.event_id for i in result] == ["$1", "$3"]
    assert reader.seen == [(ROOM, "hello"), (ROOM, "m.room.encrypted"), (ROOM, "again")]
    assert e2ee.absorbed == [answer]


async def test_a_late_key_is_awaited_in_the_background_and_a_missing_one_noticed_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = FakeHub()
    e2ee = FakeE2EE({}, late={"$late": "finally"})
    batch, _, decryption, notices = reader_with(e2ee, hub)
    timeline = [encrypted("$late"), encrypted("$nokey1"), encrypted("$nokey2"), encrypted("$broken")]
    timeline.append(encrypted("$nokey3", sender="@stranger:x"))
    assert await batch.read(sync({ROOM: {"timeline": {"events": timeline}}}), "s1") == []
    async with asyncio.timeout(5):
        while decryption.late.pending:
            await asyncio.sleep(0)
    await batch.spawned.run()  # type: ignore[attr-defined]
    assert hub.received == [("$late", None)]
    assert [(chat.chat_id, body, key) for chat, body, key in notices] == [
        (ROOM, NOTICE, "$broken:undecryptable")
    ]
    logged = [r.message for r in caplog.records if r.levelno == logging.WARNING]
    assert len([line for line in logged if "cannot decrypt" in line]) == 4
    assert f"matrix: cannot decrypt $broken from @alice:x in {ROOM}: bad ciphertext" in logged


async def test_without_encryption_encrypted_rooms_are_not_read(caplog: pytest.LogCaptureFixture) -> None:
    batch, reader, _, _ = reader_with(None)
    timeline = [encrypted("$1"), text("$2"), encrypted("$3")]
    answer = sync(
        {ROOM: {"timeline": {"events": timeline}}, "!open:x": {"timeline": {"events": [text("$4")]}}}
    )
    result = await batch.read(answer, "s1")
    assert [i.event_id for i in result] == ["$4"] and reader.seen == [("!open:x", "$4")]
    assert [r.message for r in caplog.records if ROOM in r.message] == [
        f"matrix: {ROOM} is an encrypted room, but encryption is off: nothing is read or sent there"
    ]


async def test_an_encrypted_event_marks_its_room_encrypted() -> None:
    batch, _, decryption, _ = reader_with(None, encrypted_rooms=())
    await batch.read(sync({"!r": {"timeline": {"events": [encrypted("$1")]}}}), "s1")
    assert await decryption.encryption.is_encrypted("!r")


async def test_the_stored_cursor_waits_for_a_late_event_of_an_earlier_batch() -> None:
    http = ScriptedHTTP([{"next_batch": "s2"}, {"next_batch": "s3"}])
    hub = FakeHub()
    late = LateEvents(hub)
    key_arrived = asyncio.Event()

    async def late_read() -> Inbound:
        await key_arrived.wait()
        return inbound("$late")

    async def read(answer: dict[str, Any], since: str | None) -> list[Inbound]:
        if answer["next_batch"] == "s2":
            late.add(str(since), late_read())
            return [inbound("$b")]
        return [inbound("$c")]

    loop = SyncLoop(http, hub, read, BOT, on_rejected=pytest.fail, late=late)
    task = asyncio.create_task(loop.run("s1"))
    async with asyncio.timeout(5):
        await http.exhausted.wait()
    # Both batches are stored with the cursor from before the late event's batch.
    assert hub.received == [("$b", "s1"), ("$c", "s1")] and hub.cursors == ["s1", "s1"]
    key_arrived.set()
    async with asyncio.timeout(5):
        while late.pending:
            await asyncio.sleep(0)
    await stop(task)
    assert hub.received[-1] == ("$late", None) and hub.cursors == ["s1", "s1", "s3"]


async def test_a_late_event_still_waiting_at_stop_keeps_its_batch_for_the_restart() -> None:
    hub = FakeHub()
    late = LateEvents(hub)
    late.add("s1", asyncio.get_running_loop().create_future())
    late.handed_over("s2", None)
    await late.close()
    assert late.pending == 1 and late.cursor("s9") == "s1" and hub.cursors == []


async def test_notices_go_to_allowed_senders_at_most_hourly_per_room() -> None:
    now = [1000.0]
    sent: list[tuple[str, str, str | None]] = []

    async def send_text(chat: ChatRef, body: str, *, idempotency_key: str) -> None:
        sent.append((chat.chat_id, idempotency_key, chat.thread_id))

    spawned = Spawned()
    notices = UndecryptableNotices(
        send_text, lambda user: user != "@stranger:x", spawned, clock=lambda: now[0]
    )
    thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}}
    notices.report("!a", encrypted("$1", **thread), "no key")
    notices.report("!a", encrypted("$2"), "no key")
    notices.report("!b", encrypted("$3"), "no key")
    notices.report("!a", encrypted("$4", sender="@stranger:x"), "no key")
    now[0] += 3599
    notices.report("!a", encrypted("$5"), "no key")
    now[0] += 2
    notices.report("!a", encrypted("$6"), "no key")
    await spawned.run()
    assert sent == [
        ("!a", "$1:undecryptable", "$root"),
        ("!b", "$3:undecryptable", None),
        ("!a", "$6:undecryptable", None),
    ]


def test_plain_decryption_fakes_have_no_crypto() -> None:
    assert plain_decryption().e2ee is None
