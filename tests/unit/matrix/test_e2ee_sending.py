"""The one send path in encrypted rooms: encrypted, or refused with nothing sent; never plaintext."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from mautrix.errors import make_request_error

from hermes.platforms.base import Attachment, ChatRef
from hermes.platforms.matrix.room_encryption import PlaintextRefused, RoomEncryption
from hermes.platforms.matrix.rooms import ThreadBook
from hermes.platforms.matrix.sender import Sender
from tests.unit.matrix.encryption_fakes import FakeE2EE, KnownRooms

ROOM = "!secret:x"
PLAIN = "!open:x"


class Homeserver:
    """Answers sends, redactions and uploads, and records what reached it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def request(
        self,
        method: Any,
        path: str,
        content: Any = None,
        headers: Any = None,
        query_params: Any = None,
        **_: Any,
    ) -> Any:
        self.calls.append({"path": path, "content": content, "headers": headers, "query": query_params})
        if path.endswith("/upload"):
            return {"content_uri": "mxc://x/media"}
        return {"event_id": f"$e{len(self.calls)}"}


def sender(http: Homeserver, e2ee: FakeE2EE | None) -> Sender:
    threads = ThreadBook(http, "@bot:x")  # type: ignore[arg-type]
    encryption = KnownRooms([ROOM], off_reason="end-to-end encryption is off (MATRIX_E2EE_MODE)")
    return Sender(http, "@bot:x", threads, encryption=encryption, e2ee=e2ee)  # type: ignore[arg-type]


REACTION = {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$q", "key": "👍"}}


async def test_every_event_into_an_encrypted_room_is_encrypted_reactions_included() -> None:
    http, e2ee = Homeserver(), FakeE2EE()
    out = sender(http, e2ee)
    await out.send_text(ChatRef("matrix", ROOM, "dm"), "hello", idempotency_key="k")
    await out.edit(ROOM, "$e1", "hello again")
    await out.send_event(ROOM, "m.reaction", REACTION)
    assert [path.split("/")[-2] for path in (c["path"] for c in http.calls)] == ["m.room.encrypted"] * 3
    assert [event_type for _, event_type, _ in e2ee.encrypted] == [
        "m.room.message",
        "m.room.message",
        "m.reaction",
    ]
    assert all(call["content"]["ciphertext"] == "…" for call in http.calls)
    assert e2ee.encrypted[0][2]["body"] == "hello"


async def test_a_text_too_large_once_encrypted_is_sent_without_its_html() -> None:
    http, e2ee = Homeserver(), FakeE2EE()
    text = "**bold** " * 1500
    await sender(http, e2ee).send_text(ChatRef("matrix", ROOM, "dm"), text, idempotency_key="k")
    first, second = (content for _, _, content in e2ee.encrypted)
    assert "formatted_body" in first and "formatted_body" not in second
    assert second["body"] == first["body"] and len(http.calls) == 1


async def test_unencrypted_rooms_get_plain_events() -> None:
    http, e2ee = Homeserver(), FakeE2EE()
    await sender(http, e2ee).send_event(PLAIN, "m.reaction", REACTION)
    assert http.calls[0]["path"].split("/")[-2] == "m.reaction" and e2ee.encrypted == []


async def test_without_encryption_nothing_reaches_an_encrypted_room_and_one_line_is_logged(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    http = Homeserver()
    out = sender(http, None)
    file = tmp_path / "a.txt"
    file.write_text("secret")
    attempts = [
        out.send_text(ChatRef("matrix", ROOM, "group"), "cron says hi", idempotency_key="c"),
        out.send_event(ROOM, "m.reaction", REACTION),
        out.send_file(
            ChatRef("matrix", ROOM, "group"),
            Attachment("a.txt", "text/plain", str(file), 6),
            idempotency_key="f",
        ),
        out.redact(ROOM, "$e", reason="oops"),
    ]
    for attempt in attempts:
        with pytest.raises(PlaintextRefused, match=f"{ROOM} is encrypted and end-to-end encryption is off"):
            await attempt
    assert http.calls == []
    lines = [r.message for r in caplog.records if ROOM in r.message]
    assert lines == [
        f"matrix: {ROOM} is an encrypted room, but end-to-end encryption is off (MATRIX_E2EE_MODE): "
        "nothing is read or sent there"
    ]


async def test_a_file_for_an_encrypted_room_is_encrypted_and_uploaded_without_its_name(
    tmp_path: Path,
) -> None:
    http, e2ee = Homeserver(), FakeE2EE()
    file = tmp_path / "report.csv"
    file.write_bytes(b"q,revenue\n1,secret\n")
    attachment = Attachment("report.csv", "text/csv", str(file), file.stat().st_size)
    await sender(http, e2ee).send_file(ChatRef("matrix", ROOM, "dm"), attachment, idempotency_key="f")
    upload, event = http.calls
    assert upload["headers"] == {"Content-Type": "application/octet-stream"} and not upload["query"]
    assert b"secret" not in upload["content"] and len(upload["content"]) == file.stat().st_size
    _, _, content = e2ee.encrypted[0]
    assert "url" not in content and content["file"]["url"] == "mxc://x/media"
    assert set(content["file"]) >= {"key", "iv", "hashes", "v"}
    assert content["info"] == {"mimetype": "text/csv", "size": file.stat().st_size}
    assert event["path"].split("/")[-2] == "m.room.encrypted"


async def test_a_file_for_a_plain_room_keeps_its_name_and_type(tmp_path: Path) -> None:
    http = Homeserver()
    file = tmp_path / "a.txt"
    file.write_text("hi")
    await sender(http, None).send_file(
        ChatRef("matrix", PLAIN, "dm"), Attachment("a.txt", "text/plain", str(file), 2), idempotency_key="f"
    )
    upload, event = http.calls
    assert upload["query"] == {"filename": "a.txt"} and upload["headers"] == {"Content-Type": "text/plain"}
    assert event["content"]["url"] == "mxc://x/media" and "file" not in event["content"]


async def test_a_redaction_in_an_encrypted_room_carries_no_reason() -> None:
    http, e2ee = Homeserver(), FakeE2EE()
    out = sender(http, e2ee)
    await out.redact(ROOM, "$e", reason="a reason the server could read")
    await out.redact(PLAIN, "$p", reason="fine here")
    assert [call["content"] for call in http.calls] == [{}, {"reason": "fine here"}]
    assert "/redact/%24e/" in http.calls[0]["path"]


class StateAnswers:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def request(self, method: Any, path: str, *_: Any, **__: Any) -> Any:
        self.asked.append(path)
        await asyncio.sleep(0)
        answer = self.answers[path.split("/")[4]]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_room_encryption_is_learnt_from_state_or_looked_up_once() -> None:
    http = StateAnswers(
        {
            "%21on": {"algorithm": "m.megolm.v1.aes-sha2"},
            "%21off": make_request_error(404, "{}", "M_NOT_FOUND", "no"),
            "%21gone": make_request_error(403, "{}", "M_FORBIDDEN", "not in room"),
        }
    )
    rooms = RoomEncryption(http, off_reason=None)  # type: ignore[arg-type]
    rooms.apply("!synced", {"type": "m.room.encryption", "state_key": "", "content": {}})
    rooms.apply("!other", {"type": "m.room.encryption", "state_key": "x", "content": {}})
    assert await rooms.is_encrypted("!synced")
    assert await asyncio.gather(rooms.is_encrypted("!on"), rooms.is_encrypted("!on")) == [True, True]
    assert not await rooms.is_encrypted("!off") and not await rooms.is_encrypted("!off")
    with pytest.raises(Exception, match="not in room"):
        await rooms.is_encrypted("!gone")
    assert [path.split("/")[4] for path in http.asked] == ["%21on", "%21off", "%21gone"]
    rooms.apply("!off", {"type": "m.room.encryption", "state_key": "", "content": {}})
    assert await rooms.is_encrypted("!off")


def test_refusals_are_logged_once_per_room(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    rooms = KnownRooms(off_reason=None)
    for _ in range(3):
        rooms.refusal("!a")
    rooms.refusal("!b")
    assert [r.message.split(" ")[1] for r in caplog.records] == ["!a", "!b"]
    assert "end-to-end encryption is not working" in caplog.records[0].message
