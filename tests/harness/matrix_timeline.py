"""What one Matrix client has seen over /sync, in order, and waiting for what it has not seen yet.

Events are kept as the homeserver sent them (raw JSON), so tests assert on exactly what the bot put on the
wire: ``body``, ``format``, ``formatted_body``, ``m.relates_to``, ``m.mentions``, ``m.new_content``.
Encrypted events keep their place in the order while their room key arrives; once decrypted they carry the
plaintext type and content, with ``encrypted`` set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

ENCRYPTED = "m.room.encrypted"
_DESCRIBED_EVENTS = 8

# (room_id, raw m.room.encrypted event) -> (plaintext type, plaintext content)
Decryptor = Callable[[str, Mapping[str, Any]], Awaitable[tuple[str, dict[str, Any]]]]
Predicate = Callable[["ReceivedEvent"], bool]
T = TypeVar("T")


@dataclass(frozen=True)
class ReceivedEvent:
    room_id: str
    type: str
    content: dict[str, Any]
    sender: str | None
    event_id: str | None
    state_key: str | None
    encrypted: bool
    raw: dict[str, Any]

    @classmethod
    def from_raw(
        cls,
        room_id: str,
        raw: dict[str, Any],
        *,
        decrypted: tuple[str, dict[str, Any]] | None = None,
    ) -> ReceivedEvent:
        event_type, content = decrypted or (raw.get("type", ""), raw.get("content") or {})
        return cls(
            room_id=room_id,
            type=event_type,
            content=content,
            sender=raw.get("sender"),
            event_id=raw.get("event_id"),
            state_key=raw.get("state_key"),
            encrypted=decrypted is not None,
            raw=raw,
        )

    @property
    def body(self) -> str | None:
        return self.content.get("body")

    @property
    def relates_to(self) -> dict[str, Any]:
        return self.content.get("m.relates_to") or {}

    def describe(self) -> str:
        detail = self.body if self.body is not None else self.content
        text = f"{self.type} from {self.sender} {self.event_id}: {detail!r}"
        return text if len(text) <= 200 else text[:197] + "..."


@dataclass
class _Slot:
    """One timeline position; ``event`` stays None while an encrypted event waits for decryption."""

    raw: dict[str, Any]
    event: ReceivedEvent | None = None
    error: str | None = None


class SyncStoppedError(RuntimeError):
    """The client's sync loop died, so nothing more will arrive."""


class Timeline:
    def __init__(self, owner: str, decryptor: Decryptor | None = None) -> None:
        self._owner = owner
        self.decryptor = decryptor
        self._rooms: dict[str, list[_Slot]] = {}
        self._invites: list[ReceivedEvent] = []
        self._gaps: set[str] = set()
        self._decryptions: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._failure: BaseException | None = None
        self.last_sync_error: str | None = None
        self.syncs = 0

    # -- recording -------------------------------------------------------------------------------

    def record_sync(self, data: Mapping[str, Any]) -> None:
        """Takes one raw /sync response, after the client's own handlers (state store, keys) ran."""
        rooms = data.get("rooms") or {}
        is_initial = (data.get("net.maunium.mautrix") or {}).get("is_initial", False)
        for section in ("join", "leave"):
            for room_id, room in (rooms.get(section) or {}).items():
                timeline = room.get("timeline") or {}
                if timeline.get("limited") and not is_initial:
                    self._gaps.add(room_id)
                # Room state as of the timeline's start (e.g. the members of a room just joined).
                for raw in (room.get("state") or {}).get("events") or []:
                    self._append(room_id, raw)
                for raw in timeline.get("events") or []:
                    self._append(room_id, raw)
                for raw in (room.get("ephemeral") or {}).get("events") or []:
                    self._append(room_id, raw)
        for room_id, room in (rooms.get("invite") or {}).items():
            for raw in (room.get("invite_state") or {}).get("events") or []:
                if raw.get("type") == "m.room.member" and raw.get("state_key") == self._owner:
                    self._invites.append(ReceivedEvent.from_raw(room_id, raw))
        self.syncs += 1
        self._notify()

    def _append(self, room_id: str, raw: dict[str, Any]) -> None:
        slot = _Slot(raw)
        self._rooms.setdefault(room_id, []).append(slot)
        if raw.get("type") == ENCRYPTED and self.decryptor is not None:
            task = asyncio.create_task(self._decrypt(room_id, slot, self.decryptor))
            self._decryptions.add(task)
            task.add_done_callback(self._decryptions.discard)
        else:
            slot.event = ReceivedEvent.from_raw(room_id, raw)

    async def _decrypt(self, room_id: str, slot: _Slot, decryptor: Decryptor) -> None:
        try:
            slot.event = ReceivedEvent.from_raw(
                room_id, slot.raw, decrypted=await decryptor(room_id, slot.raw)
            )
        except Exception as error:
            slot.error = f"{type(error).__name__}: {error}"
            slot.event = ReceivedEvent.from_raw(room_id, slot.raw)
        self._notify()

    def fail(self, error: BaseException) -> None:
        self._failure = error
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def close(self) -> None:
        for task in list(self._decryptions):
            task.cancel()
        for task in list(self._decryptions):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- reading ---------------------------------------------------------------------------------

    def events(self, room_id: str) -> list[ReceivedEvent]:
        """Everything seen in the room so far, in timeline order (undecrypted events skipped)."""
        return [slot.event for slot in self._rooms.get(room_id, []) if slot.event is not None]

    def _events_after(self, room_id: str, after: str | None) -> list[ReceivedEvent]:
        slots = self._rooms.get(room_id, [])
        if after is not None:
            positions = [i for i, slot in enumerate(slots) if slot.raw.get("event_id") == after]
            # Events after one not synced yet have not been synced either.
            slots = slots[positions[0] + 1 :] if positions else []
        return [slot.event for slot in slots if slot.event is not None]

    async def wait_for(
        self,
        room_id: str,
        predicate: Predicate,
        timeout: float,
        *,
        after: str | None = None,
        what: str = "a matching event",
    ) -> ReceivedEvent:
        def find() -> ReceivedEvent | None:
            return next((e for e in self._events_after(room_id, after) if predicate(e)), None)

        return await self._wait(find, timeout, lambda: self._describe_room(room_id, what, timeout, after))

    async def wait_for_invite(self, predicate: Predicate, timeout: float) -> ReceivedEvent:
        def find() -> ReceivedEvent | None:
            return next((invite for invite in self._invites if predicate(invite)), None)

        def describe() -> str:
            seen = "; ".join(invite.describe() for invite in self._invites) or "none"
            return f"{self._owner} got no matching invite within {timeout} s (invites seen: {seen})"

        return await self._wait(find, timeout, describe)

    async def wait_for_syncs(self, count: int, timeout: float) -> None:
        def find() -> bool | None:
            return True if self.syncs >= count else None

        await self._wait(
            find, timeout, lambda: f"{self._owner} did not complete {count} sync(s) in {timeout} s"
        )

    async def _wait(self, find: Callable[[], T | None], timeout: float, describe: Callable[[], str]) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = find()
            if found is not None:
                return found
            if self._failure is not None:
                error = self._failure
                errcode = getattr(error, "errcode", None) or ""
                detail = f"{type(error).__name__} {errcode}: {error}"
                raise SyncStoppedError(f"{self._owner}'s sync loop stopped: {detail}") from error
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def _describe_room(self, room_id: str, what: str, timeout: float, after: str | None) -> str:
        slots = self._rooms.get(room_id, [])
        lines = [f"{self._owner} saw no {what} in {room_id} within {timeout} s"]
        if after is not None:
            lines[0] += f" after {after}"
        lines.append(f"{len(slots)} event(s) seen there, the last ones:")
        for slot in slots[-_DESCRIBED_EVENTS:]:
            if slot.event is None:
                lines.append(f"  (still decrypting) {slot.raw.get('event_id')}")
            else:
                failed = f"  [decryption failed: {slot.error}]" if slot.error else ""
                lines.append(f"  {slot.event.describe()}{failed}")
        if room_id in self._gaps:
            lines.append("  a sync was limited for this room: some events were never delivered")
        if self.last_sync_error:
            lines.append(f"  last sync error: {self.last_sync_error}")
        return "\n".join(lines)
