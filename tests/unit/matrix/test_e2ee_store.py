"""The crypto store's files: the secret behind the pickle key, ownership, the lock, backup and reset."""

from __future__ import annotations

import sqlite3
import stat
from datetime import datetime
from pathlib import Path

import pytest

from hermes.platforms.matrix.crypto.errors import CryptoRefused
from hermes.platforms.matrix.crypto.location import StoreLocation
from hermes.platforms.matrix.crypto.store import check_owner
from hermes.platforms.matrix.crypto.store_files import (
    Owner,
    StoreLock,
    StorePaths,
    backup_and_clear,
    load_secret,
    pickle_key,
    prepare_directory,
    read_owners,
)


def make_store(paths: StorePaths, *owners: tuple[str, str]) -> None:
    paths.directory.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(paths.db) as connection:
        connection.execute("CREATE TABLE crypto_account (account_id TEXT, device_id TEXT, account BLOB)")
        connection.executemany("INSERT INTO crypto_account VALUES (?, ?, x'00')", owners)
    connection.close()


def test_the_secret_is_made_once_private_and_gives_a_stable_pickle_key(tmp_path: Path) -> None:
    paths = StorePaths.under(tmp_path)
    prepare_directory(paths)
    secret = load_secret(paths, may_create=True)
    assert load_secret(paths, may_create=True) == secret
    assert stat.S_IMODE(paths.secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.db.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.directory.stat().st_mode) == 0o700
    assert pickle_key(secret) == pickle_key(secret) != pickle_key(b"\1" * 32)
    assert "@bot" not in pickle_key(secret) and len(pickle_key(secret)) == 64


def test_a_missing_or_damaged_secret_is_never_silently_replaced(tmp_path: Path) -> None:
    paths = StorePaths.under(tmp_path)
    prepare_directory(paths)
    with pytest.raises(CryptoRefused, match=r"crypto.secret is missing.*restore the file"):
        load_secret(paths, may_create=False)
    assert not paths.secret.exists()
    paths.secret.write_bytes(b"short")
    with pytest.raises(CryptoRefused, match="holds 5 bytes instead of 32"):
        load_secret(paths, may_create=True)
    assert paths.secret.read_bytes() == b"short"


def test_owners_are_read_from_the_store(tmp_path: Path) -> None:
    paths = StorePaths.under(tmp_path)
    assert read_owners(paths.db) == []
    paths.directory.mkdir(parents=True)
    sqlite3.connect(paths.db).close()
    assert read_owners(paths.db) == []
    paths.db.unlink()
    make_store(paths, ("@bot:x", "DEV1"))
    assert read_owners(paths.db) == [Owner("@bot:x", "DEV1")]
    paths.db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CryptoRefused, match="not a usable SQLite database"):
        read_owners(paths.db)


@pytest.mark.parametrize(
    ("owner", "message"),
    [
        (Owner("@other:x", "DEV1"), r"belongs to @other:x, not @bot:x"),
        (Owner("@bot:x", "OLD"), r"belongs to device OLD of @bot:x, but the access token is for device DEV1"),
        (Owner("@bot:x", ""), r"belongs to an unknown device of @bot:x"),
    ],
)
def test_a_store_of_another_account_or_device_is_refused(tmp_path: Path, owner: Owner, message: str) -> None:
    with pytest.raises(CryptoRefused, match=message) as refused:
        check_owner(StoreLocation(StorePaths.under(tmp_path)), [owner], "@bot:x", "DEV1")
    assert "hermes matrix reset-crypto" in str(refused.value)


def test_the_same_account_and_device_are_accepted(tmp_path: Path) -> None:
    check_owner(StoreLocation(StorePaths.under(tmp_path)), [Owner("@bot:x", "DEV1")], "@bot:x", "DEV1")


def test_only_one_process_holds_the_store(tmp_path: Path) -> None:
    paths = StorePaths.under(tmp_path)
    lock = StoreLock.acquire(paths)
    with pytest.raises(CryptoRefused, match="another process is using the crypto store"):
        StoreLock.acquire(paths)
    lock.release()
    lock.release()
    StoreLock.acquire(paths).release()


def test_backup_and_clear_moves_the_database_and_copies_the_secret(tmp_path: Path) -> None:
    paths = StorePaths.under(tmp_path)
    assert backup_and_clear(paths, datetime(2025, 1, 2, 3, 4, 5)) is None
    make_store(paths, ("@bot:x", "DEV1"))
    prepare_directory(paths)
    secret = load_secret(paths, may_create=True)
    paths.db.with_name("crypto.db-wal").write_bytes(b"wal")
    original = paths.db.read_bytes()
    backup = backup_and_clear(paths, datetime(2025, 1, 2, 3, 4, 5))
    assert backup == paths.directory / "backup-20250102T030405"
    assert sorted(p.name for p in backup.iterdir()) == ["crypto.db", "crypto.db-wal", "crypto.secret"]
    assert (backup / "crypto.db").read_bytes() == original
    assert not paths.db.exists() and paths.secret.read_bytes() == secret
