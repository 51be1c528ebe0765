"""End-to-end encryption for a test-side mautrix client: SQLite stores, the OlmMachine, and decryption
that keeps the plaintext exactly as the sender wrote it.

The store setup follows the recipe measured in SYNAPSE.md (reference/matrix): both databases on one SQLite
file sharing one pool, because mautrix's async_db keeps the current connection in a module-wide ContextVar.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mautrix.client import Client
from mautrix.client.encryption_manager import DecryptionDispatcher
from mautrix.crypto import OlmMachine, PgCryptoStateStore, PgCryptoStore
from mautrix.errors import DecryptionError, MNotFound
from mautrix.types import EventType, RoomID, SessionID
from mautrix.util.async_db import Database

MEGOLM = "m.megolm.v1.aes-sha2"
ROOM_KEY_TIMEOUT_S = 10.0
_ROOM_KEY_POLL_S = 0.5
_PICKLE_KEY = "hermes-tests"

_crypto_log = logging.getLogger("tests.harness.human.crypto")
# mautrix warns that the device "isn't cross-signed" on every message; nobody here cross-signs.
_crypto_log.setLevel(logging.ERROR)


@dataclass
class CryptoStores:
    state_db: Database
    crypto_db: Database
    state_store: PgCryptoStateStore
    crypto_store: PgCryptoStore

    @classmethod
    async def open(cls, path: Path, user_id: str) -> CryptoStores:
        url = f"sqlite:///{path}"
        state_db = Database.create(url, upgrade_table=PgCryptoStateStore.upgrade_table)
        crypto_db = Database.create(url, upgrade_table=PgCryptoStore.upgrade_table)
        crypto_db.override_pool(state_db)
        await state_db.start()
        try:
            await crypto_db.start()
        except BaseException:
            await state_db.stop()
            raise
        return cls(
            state_db=state_db,
            crypto_db=crypto_db,
            state_store=PgCryptoStateStore(state_db),
            crypto_store=PgCryptoStore(account_id=user_id, pickle_key=_PICKLE_KEY, db=crypto_db),
        )

    async def close(self) -> None:
        # crypto_db borrows state_db's pool: stopping it is a no-op, stopping state_db closes the file.
        await self.crypto_db.stop()
        await self.state_db.stop()


class Encryption:
    """The OlmMachine of one client, and a decryptor for the Timeline."""

    def __init__(self, client: Client, stores: CryptoStores) -> None:
        self._client = client
        self._stores = stores
        self.machine = OlmMachine(client, stores.crypto_store, stores.state_store, log=_crypto_log)
        client.crypto = self.machine
        # The Timeline decrypts raw events itself (see decrypt); mautrix's dispatcher would decrypt each
        # one a second time and give up on keys that arrive a moment after their message.
        client.remove_dispatcher(DecryptionDispatcher)

    async def start(self, device_id: str) -> None:
        await self._stores.crypto_store.put_device_id(device_id)
        await self.machine.load()
        await self.machine.share_keys()

    async def decrypt(self, room_id: str, raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The plaintext (type, content) of one raw m.room.encrypted event, unaltered."""
        content = raw.get("content") or {}
        if content.get("algorithm") != MEGOLM:
            raise DecryptionError(f"unsupported algorithm {content.get('algorithm')!r}")
        session = await self._room_key(room_id, content["session_id"])
        plaintext, _index = session.decrypt(content["ciphertext"])
        payload = json.loads(plaintext)
        if payload.get("room_id") != room_id:
            raise DecryptionError(f"payload is for room {payload.get('room_id')!r}, not {room_id!r}")
        decrypted: dict[str, Any] = payload["content"]
        # Relations travel in the clear so the server can aggregate them.
        if "m.relates_to" in content:
            decrypted.setdefault("m.relates_to", content["m.relates_to"])
        return payload["type"], decrypted

    async def _room_key(self, room_id: str, session_id: str) -> Any:
        """The inbound group session, waiting for its room key if it has not arrived yet."""
        store = self._stores.crypto_store
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ROOM_KEY_TIMEOUT_S
        while True:
            session = await store.get_group_session(RoomID(room_id), SessionID(session_id))
            if session is not None:
                return session
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DecryptionError(f"no room key for session {session_id} within {ROOM_KEY_TIMEOUT_S} s")
            # Short waits: a key stored between the lookup above and this call would not wake it.
            await self.machine.wait_for_session(
                RoomID(room_id), SessionID(session_id), timeout=min(_ROOM_KEY_POLL_S, remaining)
            )

    async def is_encrypted(self, room_id: str) -> bool:
        known = await self._stores.state_store.is_encrypted(RoomID(room_id))
        if known is not None:
            return known
        try:
            await self._client.get_state_event(RoomID(room_id), EventType.ROOM_ENCRYPTION)
        except MNotFound:
            return False
        return True
