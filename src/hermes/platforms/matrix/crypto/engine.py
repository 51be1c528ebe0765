"""The bot's end-to-end encryption while it runs: mautrix's OlmMachine fed from the adapter's own /sync.

The adapter does not run mautrix's sync loop, so `absorb` hands the machine what it would have dispatched,
before the batch's room events are read: room state (who is in which encrypted room), to-device messages
(room keys arrive there), device list changes and the one-time key count. `decrypt` turns one
`m.room.encrypted` event into the plaintext event, `encrypt` does the opposite for the send path.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from mautrix.client import Client
from mautrix.crypto import OlmMachine
from mautrix.errors import DecryptionError, EncryptionError, GroupSessionWithheldError, SessionNotFound
from mautrix.types import (
    JSON,
    DeviceLists,
    DeviceOTKCount,
    EncryptedEvent,
    EventType,
    RoomID,
    SessionID,
    StateEvent,
    ToDeviceEvent,
    TrustState,
    UserID,
)
from mautrix.util import background_task

from hermes.platforms.matrix.crypto.errors import RoomKeyMissing, Undecryptable, UntrustedDevice
from hermes.platforms.matrix.crypto.store import CryptoStores
from hermes.platforms.matrix.http import is_transient

log = logging.getLogger(__name__)

ENCRYPTED = "m.room.encrypted"
_KEY_POLL = 1.0
_CLOSE_TIMEOUT = 5.0
_TO_DEVICE_HANDLED = {ENCRYPTED, "m.room_key_request"}
# Verified by the bot, or cross-signed by its owner with the master key first seen for them. Below that
# (unknown, unsigned, a changed master key, forwarded keys) a homeserver could be speaking as the user.
TRUSTED = TrustState.CROSS_SIGNED_TOFU


class E2EE:
    def __init__(
        self, client: Client, machine: OlmMachine, stores: CryptoStores, *, require_trusted: bool = False
    ) -> None:
        self.client = client
        self.machine = machine
        self.stores = stores
        # MATRIX_E2EE_MODE=required: only messages from verified or cross-signed devices are read.
        self.require_trusted = require_trusted
        self._share_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @property
    def device_id(self) -> str:
        return str(self.client.device_id)

    @property
    def signing_key(self) -> str:
        assert self.machine.account is not None
        return str(self.machine.account.signing_key)

    # -- what /sync brings ---------------------------------------------------------------------------

    async def absorb(self, sync: dict[str, Any]) -> None:
        """Everything in one /sync answer the machine must know before the batch's events are read.

        Transient failures are raised (the batch is fetched again, to-device messages included: the
        homeserver deletes them only once a later batch is asked for); anything else is logged.
        """
        rooms = (sync.get("rooms") or {}).get("join") or {}
        for room_id, room in rooms.items():
            for raw in _state_events(room):
                await self._guarded(self._state(room_id, raw), f"state event {raw.get('event_id')}")
        for raw in (sync.get("to_device") or {}).get("events") or []:
            if isinstance(raw, dict) and raw.get("type") in _TO_DEVICE_HANDLED:
                await self._guarded(
                    self._to_device(raw), f"to-device {raw.get('type')} from {raw.get('sender')}"
                )
        lists = sync.get("device_lists") or {}
        changed = [UserID(user) for user in lists.get("changed") or [] if isinstance(user, str)]
        if changed:
            await self._guarded(
                self.machine.handle_device_lists(DeviceLists(changed=changed)), "device lists"
            )
        counts = sync.get("device_one_time_keys_count")
        if isinstance(counts, dict) and isinstance(counts.get("signed_curve25519"), int):
            count = DeviceOTKCount(signed_curve25519=counts["signed_curve25519"])
            await self._guarded(self.machine.handle_otk_count(count), "one-time key upload")

    async def _guarded(self, work: Any, what: str) -> None:
        try:
            await work
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("matrix: could not handle %s: %s", what, _brief(exc))

    async def _state(self, room_id: str, raw: dict[str, Any]) -> None:
        event = StateEvent.deserialize(JSON({**raw, "room_id": room_id}))
        await self.stores.state_store.update_state(event)
        if event.type == EventType.ROOM_MEMBER:
            # A member joining or leaving an encrypted room retires the bot's outbound room key there.
            await self.machine.handle_member_event(event)

    async def _to_device(self, raw: dict[str, Any]) -> None:
        event = ToDeviceEvent.deserialize(JSON(raw))
        if raw["type"] == ENCRYPTED:
            await self.machine.handle_to_device_event(event)
        else:
            await self.machine.handle_room_key_request(event)

    # -- reading ---------------------------------------------------------------------------------------

    async def decrypt(self, room_id: str, raw: dict[str, Any]) -> dict[str, Any]:
        """The plaintext event, with the encrypted event's id, sender and time.

        Raises `RoomKeyMissing` when the room key has not arrived (yet), `UntrustedDevice` when trusted
        devices are required and the sender's is not one, `Undecryptable` for the rest; network failures
        pass through.
        """
        try:
            encrypted = EncryptedEvent.deserialize(JSON({**raw, "room_id": room_id}))
        except Exception as exc:
            raise Undecryptable(f"malformed encrypted event ({_brief(exc)})") from None
        try:
            event = await self.machine.decrypt_megolm_event(encrypted)
        except SessionNotFound as exc:
            raise RoomKeyMissing(str(exc.session_id)) from None
        except GroupSessionWithheldError:
            raise Undecryptable("the sender withheld the room key") from None
        except DecryptionError as exc:
            raise Undecryptable(_brief(exc)) from None
        trust = TrustState(event["mautrix"]["trust_state"])
        if self.require_trusted and trust < TRUSTED:
            raise UntrustedDevice(f"sent from a device that is not verified or cross-signed ({trust})")
        plain: dict[str, Any] = {
            "type": event.type.t,
            "content": event.content.serialize(),
            "event_id": raw.get("event_id"),
            "sender": raw.get("sender"),
            "origin_server_ts": raw.get("origin_server_ts"),
            "room_id": room_id,
        }
        if isinstance(raw.get("unsigned"), dict):
            plain["unsigned"] = raw["unsigned"]
        return plain

    async def decrypt_when_key_arrives(
        self, room_id: str, raw: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        """`decrypt`, waiting up to `timeout` seconds for a late room key; `Undecryptable` after that."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                return await self.decrypt(room_id, raw)
            except RoomKeyMissing as exc:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise Undecryptable(f"its room key did not arrive within {timeout:g} s") from None
                # Short waits: a key stored between the attempt above and this call would not wake it.
                await self.machine.wait_for_session(
                    RoomID(room_id), SessionID(exc.session_id), timeout=min(_KEY_POLL, remaining)
                )
            except Exception as exc:
                if not is_transient(exc) or loop.time() >= deadline:
                    raise
                await asyncio.sleep(_KEY_POLL)

    # -- sending ---------------------------------------------------------------------------------------

    async def encrypt(self, room_id: str, event_type: str, content: dict[str, Any]) -> dict[str, Any]:
        """The `m.room.encrypted` content for one event; shares a new room key with the members first
        when the room has none (or a member changed)."""
        room = RoomID(room_id)
        kind = EventType.find(event_type, EventType.Class.MESSAGE)
        try:
            encrypted = await self.machine.encrypt_megolm_event(room, kind, content)
        except EncryptionError:
            async with self._share_locks[room_id]:
                try:
                    encrypted = await self.machine.encrypt_megolm_event(room, kind, content)
                except EncryptionError:
                    await self._share_room_key(room)
                    encrypted = await self.machine.encrypt_megolm_event(room, kind, content)
        return encrypted.serialize()

    async def _share_room_key(self, room: RoomID) -> None:
        # Joined and invited members, as Element does: an invitee who joins later is not a membership
        # change that retires the key (mautrix ignores invite -> join), so it must have the key already.
        state = self.stores.state_store
        if not await state.is_encrypted(room):
            # A room joined before encryption was on: its state store entry decides which membership
            # changes retire the key; the lookup stores the room's encryption settings.
            await self.client.get_state_event(room, EventType.ROOM_ENCRYPTION)
        if not await state.has_full_member_list(room):
            await self.client.get_members(room)
        await self.machine.share_group_session(room, await state.get_members(room))

    # -- shutdown --------------------------------------------------------------------------------------

    async def close(self) -> None:
        # mautrix starts a few tasks of its own (device list fetches, key shares); they must end before
        # the database closes. The set is process-wide: only this loop's tasks are ours to wait for.
        loop = asyncio.get_running_loop()
        pending = [t for t in background_task._tasks if t.get_loop() is loop and not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=_CLOSE_TIMEOUT)
        await self.stores.close()


def _state_events(room: dict[str, Any]) -> list[dict[str, Any]]:
    state = (room.get("state") or {}).get("events") or []
    timeline = (room.get("timeline") or {}).get("events") or []
    return [
        event
        for event in [*state, *timeline]
        if isinstance(event, dict) and isinstance(event.get("state_key"), str) and "type" in event
    ]


def _brief(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
