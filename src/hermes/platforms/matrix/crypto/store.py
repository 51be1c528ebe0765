"""Opening the crypto store: mautrix's crypto and state stores, after checking that they belong to this
account and device (a store of another device is refused, never replaced).

Two places, one set of checks: a SQLite file in HERMES_HOME guarded by a file lock (one gateway), or a
schema of the PostgreSQL store (replicas; the platform's lease lets one of them connect at a time, see
`store_pg.py`). A single-host store found in HERMES_HOME when the database has none is moved into it
(`store_import.py`).

The two mautrix databases share one connection pool: mautrix's async_db keeps the current connection in a
module-wide ContextVar, so two pools on one store deadlock (see reference/matrix/SYNAPSE.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mautrix.crypto import PgCryptoStateStore, PgCryptoStore
from mautrix.types import DeviceID
from mautrix.util.async_db import Database

from hermes.platforms.matrix.crypto import store_pg
from hermes.platforms.matrix.crypto.errors import CryptoRefused
from hermes.platforms.matrix.crypto.location import StoreLocation
from hermes.platforms.matrix.crypto.store_files import (
    Owner,
    StoreLock,
    load_secret,
    pickle_key,
    prepare_directory,
    read_owners,
)
from hermes.platforms.matrix.crypto.store_import import LocalStore, import_local_store

log = logging.getLogger(__name__)
_db_log = logging.getLogger("hermes.platforms.matrix.crypto.db")


@dataclass
class CryptoStores:
    location: StoreLocation
    state_db: Database
    crypto_db: Database
    state_store: PgCryptoStateStore
    crypto_store: PgCryptoStore
    release: Callable[[], Awaitable[None]]

    async def close(self) -> None:
        try:
            # crypto_db borrows state_db's pool: stopping it is a no-op, stopping state_db closes it.
            await self.crypto_db.stop()
            await self.state_db.stop()
        finally:
            await self.release()


async def open_stores(location: StoreLocation, user_id: str, device_id: str) -> CryptoStores:
    if location.database_url is not None:
        return await _open_postgres(location, location.database_url, user_id, device_id)
    return await _open_files(location, user_id, device_id)


async def _open_files(location: StoreLocation, user_id: str, device_id: str) -> CryptoStores:
    paths = location.paths
    lock = await asyncio.to_thread(StoreLock.acquire, paths)

    async def release() -> None:
        await asyncio.to_thread(lock.release)

    try:
        owners = await asyncio.to_thread(read_owners, paths.db)
        check_owner(location, owners, user_id, device_id)
        secret = await asyncio.to_thread(load_secret, paths, may_create=not owners)
        await asyncio.to_thread(prepare_directory, paths)
        return await _start(location, f"sqlite:///{paths.db}", None, secret, user_id, device_id, release)
    except BaseException:
        await release()
        raise


async def _open_postgres(location: StoreLocation, url: str, user_id: str, device_id: str) -> CryptoStores:
    async with store_pg.connected(url) as conn:
        await store_pg.prepare(conn)
        owners = await store_pg.read_owners(conn)
        local = None if owners else await LocalStore.find(location.paths, user_id, device_id)
        if local is not None:
            secret = local.secret
        else:
            check_owner(location, owners, user_id, device_id)
            secret = await store_pg.load_secret(conn, may_create=not owners)

    async def nothing() -> None:
        return None

    try:
        stores = await _start(
            location, url, store_pg.pool_args(location.pool_size), secret, user_id, device_id, nothing
        )
    except BaseException:
        if local is not None:
            await local.release()
        raise
    if local is not None:
        try:
            await import_local_store(local, url)
        except BaseException:
            await stores.close()
            raise
    return stores


async def _start(
    location: StoreLocation,
    url: str,
    db_args: dict[str, Any] | None,
    secret: bytes,
    user_id: str,
    device_id: str,
    release: Callable[[], Awaitable[None]],
) -> CryptoStores:
    state_db = Database.create(
        url, upgrade_table=PgCryptoStateStore.upgrade_table, db_args=db_args, log=_db_log
    )
    crypto_db = Database.create(url, upgrade_table=PgCryptoStore.upgrade_table, db_args=db_args, log=_db_log)
    await state_db.start()
    try:
        # After the start: PostgreSQL's override copies the pool, which exists only once started.
        crypto_db.override_pool(state_db)
        await crypto_db.start()
        crypto_store = PgCryptoStore(account_id=user_id, pickle_key=pickle_key(secret), db=crypto_db)
        # Before the account is created or loaded: a new account row records this device.
        await crypto_store.put_device_id(DeviceID(device_id))
    except BaseException:
        await state_db.stop()
        raise
    return CryptoStores(location, state_db, crypto_db, PgCryptoStateStore(state_db), crypto_store, release)


def check_owner(location: StoreLocation, owners: list[Owner], user_id: str, device_id: str) -> None:
    where = location.where
    for owner in owners:
        if owner.user_id != user_id:
            elsewhere = (
                "HERMES_DATABASE_URL at that bot's database"
                if location.database_url
                else "HERMES_HOME at that bot's home"
            )
            raise CryptoRefused(
                f"the crypto store {where} belongs to {owner.user_id}, not {user_id}: point {elsewhere}, "
                "or run `hermes matrix reset-crypto` (it keeps a backup) and restart"
            )
        if owner.device_id != device_id:
            held = f"device {owner.device_id}" if owner.device_id else "an unknown device"
            raise CryptoRefused(
                f"the crypto store {where} belongs to {held} of {user_id}, but the access token is "
                f"for device {device_id}: use {held}'s access token again to keep its encryption "
                "identity, or run `hermes matrix reset-crypto` (it keeps a backup) and restart to start "
                f"over with device {device_id}"
            )
