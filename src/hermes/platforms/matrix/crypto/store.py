"""Opening the crypto store: one SQLite file for mautrix's crypto and state stores, after checking that it
belongs to this account and device (a store of another device is refused, never replaced).

The two mautrix databases share one connection pool: mautrix's async_db keeps the current connection in a
module-wide ContextVar, so two pools on one file deadlock (see reference/matrix/SYNAPSE.md).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from mautrix.crypto import PgCryptoStateStore, PgCryptoStore
from mautrix.types import DeviceID
from mautrix.util.async_db import Database

from hermes.platforms.matrix.crypto.errors import CryptoRefused
from hermes.platforms.matrix.crypto.store_files import (
    Owner,
    StoreLock,
    StorePaths,
    load_secret,
    pickle_key,
    prepare_directory,
    read_owners,
)

log = logging.getLogger(__name__)


@dataclass
class CryptoStores:
    paths: StorePaths
    lock: StoreLock
    state_db: Database
    crypto_db: Database
    state_store: PgCryptoStateStore
    crypto_store: PgCryptoStore

    async def close(self) -> None:
        try:
            # crypto_db borrows state_db's pool: stopping it is a no-op, stopping state_db closes the file.
            await self.crypto_db.stop()
            await self.state_db.stop()
        finally:
            await asyncio.to_thread(self.lock.release)


async def open_stores(paths: StorePaths, user_id: str, device_id: str) -> CryptoStores:
    lock = await asyncio.to_thread(StoreLock.acquire, paths)
    try:
        owners = await asyncio.to_thread(read_owners, paths.db)
        check_owner(paths, owners, user_id, device_id)
        secret = await asyncio.to_thread(load_secret, paths, may_create=not owners)
        await asyncio.to_thread(prepare_directory, paths)
        url = f"sqlite:///{paths.db}"
        db_log = logging.getLogger("hermes.platforms.matrix.crypto.db")
        state_db = Database.create(url, upgrade_table=PgCryptoStateStore.upgrade_table, log=db_log)
        crypto_db = Database.create(url, upgrade_table=PgCryptoStore.upgrade_table, log=db_log)
        crypto_db.override_pool(state_db)
        await state_db.start()
        try:
            await crypto_db.start()
            crypto_store = PgCryptoStore(account_id=user_id, pickle_key=pickle_key(secret), db=crypto_db)
            # Before the account is created or loaded: a new account row records this device.
            await crypto_store.put_device_id(DeviceID(device_id))
        except BaseException:
            await state_db.stop()
            raise
    except BaseException:
        await asyncio.to_thread(lock.release)
        raise
    return CryptoStores(paths, lock, state_db, crypto_db, PgCryptoStateStore(state_db), crypto_store)


def check_owner(paths: StorePaths, owners: list[Owner], user_id: str, device_id: str) -> None:
    for owner in owners:
        if owner.user_id != user_id:
            raise CryptoRefused(
                f"the crypto store {paths.db} belongs to {owner.user_id}, not {user_id}: point "
                "HERMES_HOME at that bot's home, or run `hermes matrix reset-crypto` (it keeps a backup) "
                "and restart"
            )
        if owner.device_id != device_id:
            held = f"device {owner.device_id}" if owner.device_id else "an unknown device"
            raise CryptoRefused(
                f"the crypto store {paths.db} belongs to {held} of {user_id}, but the access token is "
                f"for device {device_id}: use {held}'s access token again to keep its encryption "
                "identity, or run `hermes matrix reset-crypto` (it keeps a backup) and restart to start "
                f"over with device {device_id}"
            )
