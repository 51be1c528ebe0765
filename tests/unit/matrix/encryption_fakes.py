"""Stand-ins for the adapter's encryption parts, for unit tests that drive them without a homeserver."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from hermes.platforms.base import HubPort
from hermes.platforms.matrix.batch import Decryption
from hermes.platforms.matrix.late_events import LateEvents
from hermes.platforms.matrix.room_encryption import RoomEncryption
from hermes.platforms.matrix.undecryptable import UndecryptableNotices


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


class NoHub:
    async def receive(self, *_: Any, **__: Any) -> bool:
        raise AssertionError("nothing should reach the hub")

    async def save_cursor(self, *_: Any) -> None:
        raise AssertionError("no cursor should be stored")


def plain_decryption(encryption: RoomEncryption | None = None, hub: HubPort | None = None) -> Decryption:
    """What a BatchReader gets when the bot has no encryption."""

    async def send_text(*_: Any, **__: Any) -> None:
        raise AssertionError("no notice should be sent")

    notices = UndecryptableNotices(send_text, lambda _: True, Spawned())
    return Decryption(encryption or KnownRooms(), None, LateEvents(hub or NoHub()), notices)  # type: ignore[arg-type]
