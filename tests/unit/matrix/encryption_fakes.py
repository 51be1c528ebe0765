"""Stand-ins for the adapter's encryption parts, for unit tests that drive them without a homeserver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Iterable
from typing import Any

from hermes.platforms.base import HubPort
from hermes.platforms.matrix.batch import Decryption
from hermes.platforms.matrix.crypto.errors import RoomKeyMissing, Undecryptable
from hermes.platforms.matrix.late_events import LateEvents
from hermes.platforms.matrix.room_encryption import RoomEncryption
from hermes.platforms.matrix.undecryptable import UndecryptableNotices
from tests.fakes.hub import FakeHub


class KnownRooms(RoomEncryption):
    """Room encryption as the homeserver would answer it, for the rooms named encrypted."""

    def __init__(
        self, encrypted: Iterable[str] = (), *, off_reason: str | None = "encryption is off"
    ) -> None:
        super().__init__(None, off_reason=off_reason)  # type: ignore[arg-type]
        self.encrypted_rooms = set(encrypted)
        self.lookups: list[str] = []

    async def _look_up(self, room_id: str) -> bool:
        self.lookups.append(room_id)
        return room_id in self.encrypted_rooms


class Spawned:
    """Collects what a component starts in the background, to run it when the test wants."""

    def __init__(self) -> None:
        self.work: list[Awaitable[Any]] = []

    def __call__(self, work: Awaitable[Any]) -> None:
        self.work.append(work)

    async def run(self) -> list[Any]:
        work, self.work = self.work, []
        return list(await asyncio.gather(*work))


def plain_decryption(encryption: RoomEncryption | None = None, hub: HubPort | None = None) -> Decryption:
    """What a BatchReader gets when the bot has no encryption."""

    async def send_text(*_: Any, **__: Any) -> None:
        raise AssertionError("no notice should be sent")

    notices = UndecryptableNotices(send_text, lambda _: True, Spawned())
    return Decryption(encryption or KnownRooms(), None, LateEvents(hub or FakeHub(refuse=True)), notices)  # type: ignore[arg-type]


class FakeE2EE:
    """The bot's encryption, for the units around it.

    Encrypting records the plaintext and returns ciphertext as long as base64 makes it (a third longer than
    the plaintext). Decrypting knows the events named in `plain`; the others lack a room key (`late` has
    them once it arrives, and ids starting with `$nokey` never) or are broken.
    """

    def __init__(self, plain: dict[str, str] | None = None, late: dict[str, str] | None = None) -> None:
        self.plain = plain or {}
        self.late = late or {}
        self.encrypted: list[tuple[str, str, dict[str, Any]]] = []
        self.absorbed: list[dict[str, Any]] = []

    async def encrypt(self, room_id: str, event_type: str, content: dict[str, Any]) -> dict[str, Any]:
        self.encrypted.append((room_id, event_type, content))
        padding = "x" * (len(json.dumps(content)) * 4 // 3)
        return {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "…", "session_id": "s", "pad": padding}

    async def absorb(self, sync: dict[str, Any]) -> None:
        self.absorbed.append(sync)

    async def decrypt(self, room_id: str, raw: dict[str, Any]) -> dict[str, Any]:
        event_id = raw["event_id"]
        if event_id in self.plain:
            return _decrypted(raw, self.plain[event_id])
        if event_id in self.late or event_id.startswith("$nokey"):
            raise RoomKeyMissing("s1")
        raise Undecryptable("bad ciphertext")

    async def decrypt_when_key_arrives(
        self, room_id: str, raw: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        event_id = raw["event_id"]
        if event_id in self.late:
            return _decrypted(raw, self.late[event_id])
        raise Undecryptable(f"its room key did not arrive within {timeout:g} s")


def _decrypted(raw: dict[str, Any], body: str) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "event_id": raw["event_id"],
        "sender": raw["sender"],
        "content": {"body": body},
    }
