"""The crypto store's files under `HERMES_HOME/platforms/matrix/store/`, read without python-olm.

- `crypto.db`: mautrix's SQLite crypto store (the Olm account, sessions, device lists), mode 0600.
- `crypto.secret`: 32 random bytes made once, mode 0600. The pickle key that encrypts the Olm account
  and sessions inside `crypto.db` is derived from it, so a copy of the database alone is useless.
- `crypto.lock`: an flock held by the process using the store. Two processes driving one Olm account
  would corrupt it, and `hermes matrix reset-crypto` must not pull the store from under a running bot.

Everything here blocks (file I/O, sqlite3): call it through `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from hermes.platforms.matrix.crypto.errors import CryptoRefused

STORE_DIR = "store"
SECRET_BYTES = 32
_PICKLE_KEY_LABEL = b"hermes matrix crypto store pickle key v1"
_WAL_SUFFIXES = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class StorePaths:
    directory: Path

    @classmethod
    def under(cls, platform_dir: Path) -> StorePaths:
        return cls(platform_dir / STORE_DIR)

    @property
    def db(self) -> Path:
        return self.directory / "crypto.db"

    @property
    def secret(self) -> Path:
        return self.directory / "crypto.secret"

    @property
    def lock(self) -> Path:
        return self.directory / "crypto.lock"

    def db_files(self) -> list[Path]:
        """The database and the files SQLite keeps beside it."""
        return [self.db.with_name(self.db.name + suffix) for suffix in _WAL_SUFFIXES]


@dataclass(frozen=True)
class Owner:
    """A row of the store's account table: whose Olm account it holds."""

    user_id: str
    device_id: str


def read_owners(db: Path) -> list[Owner]:
    """The accounts a store holds; [] for a missing or empty store."""
    if not db.exists():
        return []
    try:
        connection = sqlite3.connect(db)
    except sqlite3.Error as exc:
        raise CryptoRefused(f"the crypto store {db} cannot be opened ({exc})") from None
    try:
        rows = connection.execute("SELECT account_id, device_id FROM crypto_account").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise CryptoRefused(f"the crypto store {db} cannot be read ({exc})") from None
    except sqlite3.DatabaseError as exc:
        raise CryptoRefused(f"the crypto store {db} is not a usable SQLite database ({exc})") from None
    finally:
        connection.close()
    return [Owner(str(user_id), str(device_id or "")) for user_id, device_id in rows]


@dataclass(frozen=True)
class StoredAccount:
    """An Olm account as the store keeps it, for `hermes matrix status`."""

    owner: Owner
    shared: bool
    pickled: bytes
    room_keys: int
    olm_sessions: int


def read_accounts(db: Path) -> list[StoredAccount]:
    """Every account of a store `read_owners` found readable."""
    connection = sqlite3.connect(db)
    try:
        accounts = []
        for user_id, device_id, shared, pickled in connection.execute(
            "SELECT account_id, device_id, shared, account FROM crypto_account ORDER BY account_id"
        ).fetchall():
            accounts.append(
                StoredAccount(
                    Owner(str(user_id), str(device_id or "")),
                    bool(shared),
                    pickled.encode() if isinstance(pickled, str) else bytes(pickled),
                    _count(connection, "crypto_megolm_inbound_session", user_id),
                    _count(connection, "crypto_olm_session", user_id),
                )
            )
        return accounts
    finally:
        connection.close()


def _count(connection: sqlite3.Connection, table: str, user_id: str) -> int:
    try:
        return int(
            connection.execute(f"SELECT COUNT(*) FROM {table} WHERE account_id=?", (user_id,)).fetchone()[0]
        )
    except sqlite3.Error:
        return 0


def prepare_directory(paths: StorePaths) -> None:
    """The store directory (0700) and an empty database file (0600) before SQLite creates one 0644."""
    paths.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(paths.db, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)


def load_secret(paths: StorePaths, *, may_create: bool) -> bytes:
    """The store's secret, made on first use; `may_create` is False once the store holds an account,
    whose pickles only the original secret can open."""
    try:
        secret = paths.secret.read_bytes()
    except FileNotFoundError:
        if not may_create:
            raise CryptoRefused(
                f"{paths.secret} is missing, and without it the Olm account in {paths.db} cannot be "
                "opened: restore the file from a backup, or run `hermes matrix reset-crypto` and give "
                "the bot a new device"
            ) from None
        return _create_secret(paths.secret)
    if len(secret) != SECRET_BYTES:
        raise CryptoRefused(
            f"{paths.secret} holds {len(secret)} bytes instead of {SECRET_BYTES}: restore it from a backup"
        )
    return secret


def _create_secret(path: Path) -> bytes:
    secret = secrets.token_bytes(SECRET_BYTES)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
        handle.flush()
        os.fsync(handle.fileno())
    # Never replaces a secret another process made meanwhile: link fails if the name exists.
    try:
        os.link(temp, path)
    except FileExistsError:
        return load_secret(StorePaths(path.parent), may_create=False)
    finally:
        temp.unlink(missing_ok=True)
    return secret


def pickle_key(secret: bytes) -> str:
    return hmac.new(secret, _PICKLE_KEY_LABEL, hashlib.sha256).hexdigest()


class StoreLock:
    """An exclusive flock on `crypto.lock`; the OS drops it if the holder dies."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle: IO[bytes] | None = handle

    @classmethod
    def acquire(cls, paths: StorePaths) -> StoreLock:
        paths.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(paths.lock, "ab")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise CryptoRefused(
                f"another process is using the crypto store {paths.db} (it holds {paths.lock}): "
                "stop the other gateway first"
            ) from None
        return cls(handle)

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def backup_and_clear(paths: StorePaths, now: datetime, prefix: str = "backup") -> Path | None:
    """Moves the database files into a new `<prefix>-<time>/` beside them, with a copy of the secret that
    opens them; None when there is no store. The secret stays: a new store may use it again."""
    present = [path for path in paths.db_files() if path.exists()]
    if not present:
        return None
    backup = paths.directory / f"{prefix}-{now.strftime('%Y%m%dT%H%M%S')}"
    backup.mkdir(mode=0o700)
    if paths.secret.exists():
        shutil.copy2(paths.secret, backup / paths.secret.name)
    for path in present:
        os.replace(path, backup / path.name)
    return backup
