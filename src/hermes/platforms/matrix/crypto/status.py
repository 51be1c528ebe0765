"""What `hermes matrix status` reports: the local crypto store (read directly, without starting anything)
and, when the homeserver answers, the device's published keys and cross-signing state."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hermes.platforms.matrix.crypto.errors import CryptoRefused
from hermes.platforms.matrix.crypto.location import StoreLocation
from hermes.platforms.matrix.crypto.store_files import (
    StoredAccount,
    StoreLock,
    load_secret,
    pickle_key,
    read_accounts,
    read_owners,
)

if TYPE_CHECKING:
    from hermes.platforms.matrix.options import MatrixOptions

TIMEOUT = 10.0


@dataclass
class LocalKeys:
    """The store's Olm account, for one user."""

    user_id: str
    device_id: str
    published: bool
    ed25519: str | None = None
    curve25519: str | None = None
    room_keys: int = 0
    olm_sessions: int = 0
    problem: str | None = None


@dataclass
class CryptoStatus:
    location: StoreLocation
    mode: str
    olm_problem: str | None
    in_use: bool = False
    accounts: list[LocalKeys] = field(default_factory=list)
    store_problem: str | None = None
    # On PostgreSQL: a single-host store in HERMES_HOME that the next start moves into the database.
    to_move: Path | None = None
    signed_in: str | None = None
    server_keys: str | None = None
    cross_signing: str | None = None
    server_problem: str | None = None

    def lines(self, recovery_key_set: bool) -> list[tuple[str, str]]:
        rows = [("E2EE mode", self.mode), ("crypto store", self.location.label)]
        if self.olm_problem:
            rows.append(("python-olm", f"cannot be loaded ({self.olm_problem})"))
        if self.store_problem:
            rows.append(("store", self.store_problem))
        elif not self.accounts and self.to_move is not None:
            rows.append(("store", f"empty: {self.to_move} is moved into it at the next start"))
        elif not self.accounts:
            rows.append(("store", "empty: a new identity is created at the next start"))
        for account in self.accounts:
            rows.append(("account", f"{account.user_id}, device {account.device_id or '(unknown)'}"))
            if account.problem:
                rows.append(("identity keys", account.problem))
            else:
                published = "published" if account.published else "not published yet"
                rows.append(("identity keys", f"ed25519 {account.ed25519}, {published}"))
            rows.append(("sessions", f"{account.room_keys} room keys, {account.olm_sessions} Olm sessions"))
        rows.append(("in use", "yes, by a running gateway" if self.in_use else "no"))
        if self.server_problem:
            rows.append(("homeserver", self.server_problem))
        else:
            rows.append(("signed in as", self.signed_in or "-"))
            rows.append(("keys on server", self.server_keys or "-"))
            rows.append(("cross-signing", self.cross_signing or "-"))
        rows.append(("recovery key", "set (MATRIX_RECOVERY_KEY)" if recovery_key_set else "not set"))
        return rows


async def crypto_status(
    options: MatrixOptions, token: str | None, olm_problem: str | None, *, in_use: bool | None = None
) -> CryptoStatus:
    """`in_use`: whether a gateway holds the store, when the caller knows (on PostgreSQL, from the
    Matrix lease); for a file store the lock tells."""
    location = StoreLocation.of(options)
    status = CryptoStatus(location, options.e2ee_mode, olm_problem)
    if location.database_url is not None:
        await _read_postgres(status, location.database_url, olm_problem is None)
        status.in_use = bool(in_use)
    else:
        await asyncio.to_thread(_read_local, status, olm_problem is None)
    if token is None:
        status.server_problem = "not signed in yet (no access token or stored session)"
        return status
    try:
        async with asyncio.timeout(TIMEOUT):
            await _read_server(status, options.login.homeserver, token)
    except TimeoutError:
        status.server_problem = f"{options.login.homeserver} did not answer within {TIMEOUT:.0f} s"
    except Exception as exc:
        status.server_problem = f"cannot ask {options.login.homeserver}: {exc}"
    return status


def _read_local(status: CryptoStatus, can_unpickle: bool) -> None:
    paths = status.location.paths
    try:
        lock = StoreLock.acquire(paths) if paths.directory.exists() else None
    except CryptoRefused:
        status.in_use = True
    else:
        if lock is not None:
            lock.release()
    try:
        owners = read_owners(paths.db)
    except CryptoRefused as exc:
        status.store_problem = str(exc)
        return
    if not owners:
        return
    secret: bytes | None = None
    try:
        secret = load_secret(paths, may_create=False)
    except CryptoRefused as exc:
        status.store_problem = str(exc)
    for stored in read_accounts(paths.db):
        status.accounts.append(_keys(stored, secret, status.location, can_unpickle))


async def _read_postgres(status: CryptoStatus, url: str, can_unpickle: bool) -> None:
    from hermes.platforms.matrix.crypto import store_pg

    try:
        async with store_pg.connected(url) as conn:
            accounts = await store_pg.read_accounts(conn)
            secret = await store_pg.read_secret(conn)
    except ConnectionError as exc:
        status.store_problem = str(exc)
        return
    local = status.location.paths.db
    if not accounts and await asyncio.to_thread(local.exists):
        status.to_move = local
    if accounts and secret is None:
        status.store_problem = f"{status.location.secret_where} is missing: restore it from a backup"
    for stored in accounts:
        status.accounts.append(_keys(stored, secret, status.location, can_unpickle))


def _keys(
    stored: StoredAccount, secret: bytes | None, location: StoreLocation, can_unpickle: bool
) -> LocalKeys:
    keys = LocalKeys(stored.owner.user_id, stored.owner.device_id, stored.shared)
    keys.room_keys, keys.olm_sessions = stored.room_keys, stored.olm_sessions
    if secret is None:
        keys.problem = "unknown: the secret that opens the store is missing"
    elif not can_unpickle:
        keys.problem = "unknown: python-olm cannot be loaded"
    else:
        from olm.account import Account, OlmAccountError

        try:
            identity = Account.from_pickle(stored.pickled, pickle_key(secret)).identity_keys
        except OlmAccountError as exc:
            keys.problem = f"cannot be opened with {location.secret_where} ({exc})"
        else:
            keys.ed25519, keys.curve25519 = identity["ed25519"], identity["curve25519"]
    return keys


async def _read_server(status: CryptoStatus, homeserver: str, token: str) -> None:
    from mautrix.types import DeviceID, QueryKeysResponse, UserID

    from hermes.platforms.matrix.crypto.cross_signing import describe
    from hermes.platforms.matrix.http import Method, client_path, open_http

    http = open_http(homeserver, token)
    try:
        whoami = await http.request(Method.GET, client_path("account/whoami"))
        user_id, device_id = whoami["user_id"], whoami.get("device_id") or ""
        status.signed_in = f"{user_id}, device {device_id or '(unknown)'}"
        raw = await http.request(Method.POST, client_path("keys/query"), {"device_keys": {user_id: []}})
    finally:
        await http.close()
    answer = QueryKeysResponse.deserialize(raw)
    published = (answer.device_keys.get(UserID(user_id)) or {}).get(DeviceID(device_id))
    local = next((a for a in status.accounts if a.user_id == user_id and a.device_id == device_id), None)
    if published is None or not published.keys:
        status.server_keys = "none published for this device"
    elif local is None or local.ed25519 is None:
        status.server_keys = f"ed25519 {published.ed25519} (no local identity of this device to compare)"
    elif local.ed25519 == published.ed25519 and local.curve25519 == published.curve25519:
        status.server_keys = "match the local identity keys"
    else:
        status.server_keys = (
            f"DIFFER from the local store (server ed25519 {published.ed25519}): encryption refuses to "
            "start; see `hermes matrix reset-crypto` and the log line at start"
        )
    status.cross_signing = describe(answer, user_id, device_id)
