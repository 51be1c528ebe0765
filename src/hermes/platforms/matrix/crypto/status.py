"""What `hermes matrix status` reports: the local crypto store (read directly, without starting anything)
and, when the homeserver answers, the device's published keys and cross-signing state."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hermes.platforms.matrix.crypto.errors import CryptoRefused
from hermes.platforms.matrix.crypto.store_files import (
    Owner,
    StoreLock,
    StorePaths,
    load_secret,
    pickle_key,
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
    paths: StorePaths
    mode: str
    olm_problem: str | None
    in_use: bool = False
    accounts: list[LocalKeys] = field(default_factory=list)
    store_problem: str | None = None
    signed_in: str | None = None
    server_keys: str | None = None
    cross_signing: str | None = None
    server_problem: str | None = None

    def lines(self, recovery_key_set: bool) -> list[tuple[str, str]]:
        rows = [("E2EE mode", self.mode), ("crypto store", str(self.paths.db))]
        if self.olm_problem:
            rows.append(("python-olm", f"cannot be loaded ({self.olm_problem})"))
        if self.store_problem:
            rows.append(("store", self.store_problem))
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


async def crypto_status(options: MatrixOptions, token: str | None, olm_problem: str | None) -> CryptoStatus:
    paths = StorePaths.under(options.state_dir)
    status = CryptoStatus(paths, options.e2ee_mode, olm_problem)
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
    paths = status.paths
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
    connection = sqlite3.connect(paths.db)
    try:
        for owner in owners:
            status.accounts.append(_account(connection, owner, secret, paths, can_unpickle))
    finally:
        connection.close()


def _account(
    connection: sqlite3.Connection, owner: Owner, secret: bytes | None, paths: StorePaths, can_unpickle: bool
) -> LocalKeys:
    user_id = owner.user_id
    shared, pickled = connection.execute(
        "SELECT shared, account FROM crypto_account WHERE account_id=?", (user_id,)
    ).fetchone()
    keys = LocalKeys(user_id, owner.device_id, bool(shared))
    keys.room_keys = _count(connection, "crypto_megolm_inbound_session", user_id)
    keys.olm_sessions = _count(connection, "crypto_olm_session", user_id)
    if secret is None:
        keys.problem = "unknown: the secret that opens the store is missing"
    elif not can_unpickle:
        keys.problem = "unknown: python-olm cannot be loaded"
    else:
        from olm.account import Account, OlmAccountError

        pickle = pickled.encode() if isinstance(pickled, str) else pickled
        try:
            identity = Account.from_pickle(pickle, pickle_key(secret)).identity_keys
        except OlmAccountError as exc:
            keys.problem = f"cannot be opened with {paths.secret} ({exc})"
        else:
            keys.ed25519, keys.curve25519 = identity["ed25519"], identity["curve25519"]
    return keys


def _count(connection: sqlite3.Connection, table: str, user_id: str) -> int:
    try:
        return int(
            connection.execute(f"SELECT COUNT(*) FROM {table} WHERE account_id=?", (user_id,)).fetchone()[0]
        )
    except sqlite3.Error:
        return 0


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
