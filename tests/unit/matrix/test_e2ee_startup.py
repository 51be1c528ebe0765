"""Starting encryption: the identity check against the server's keys, one-time key conflicts, modes."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mautrix.crypto import OlmAccount
from mautrix.errors import make_request_error
from mautrix.types import DeviceKeys, QueryKeysResponse

from hermes.platforms.base import AccessList, StartRefused
from hermes.platforms.matrix.checks import encryption_check
from hermes.platforms.matrix.crypto.attachments import BadAttachment, decrypt_file, encrypt_file
from hermes.platforms.matrix.crypto.errors import CryptoRefused, E2EERequired
from hermes.platforms.matrix.crypto.identity import establish_identity
from hermes.platforms.matrix.crypto.location import StoreLocation
from hermes.platforms.matrix.crypto.setup import start_e2ee
from hermes.platforms.matrix.crypto.store_files import StorePaths
from hermes.platforms.matrix.options import LoginSettings, MatrixOptions
from hermes.platforms.matrix.session import Credentials
from hermes.platforms.matrix.settings import E2EEMode

USER, DEVICE = "@bot:x", "DEV1"


def published(account: OlmAccount) -> DeviceKeys:
    return account.get_device_keys(USER, DEVICE)


class Client:
    mxid = USER
    device_id = DEVICE

    def __init__(self, keys: DeviceKeys | None) -> None:
        self.keys = keys

    async def query_keys(self, users: list[str]) -> QueryKeysResponse:
        devices = {DEVICE: self.keys} if self.keys is not None else {}
        return QueryKeysResponse(device_keys={USER: devices})


class Store:
    def __init__(self, account: OlmAccount | None) -> None:
        self.account = account

    async def get_account(self) -> OlmAccount | None:
        return self.account


class Machine:
    def __init__(self, stored: OlmAccount | None, upload_error: Exception | None = None) -> None:
        self.crypto_store = Store(stored)
        self.account: OlmAccount | None = None
        self.upload_error = upload_error
        self.shared_keys = 0

    async def load(self) -> None:
        self.account = self.crypto_store.account or OlmAccount()

    async def share_keys(self) -> None:
        if self.upload_error is not None:
            raise self.upload_error
        self.shared_keys += 1
        assert self.account is not None
        self.account.shared = True


async def establish(client: Client, machine: Machine) -> QueryKeysResponse:
    location = StoreLocation(StorePaths(Path("/home/store")))
    return await establish_identity(client, machine, location)  # type: ignore[arg-type]


async def test_a_new_device_gets_a_new_identity_published() -> None:
    machine = Machine(None)
    await establish(Client(None), machine)
    assert machine.shared_keys == 1 and machine.account is not None and machine.account.shared


async def test_a_known_identity_matching_the_server_is_kept() -> None:
    account = OlmAccount()
    account.shared = True
    machine = Machine(account)
    await establish(Client(published(account)), machine)
    assert machine.account is account and machine.shared_keys == 1


async def test_a_wiped_store_creates_nothing_when_the_server_knows_the_device() -> None:
    old = OlmAccount()
    machine = Machine(None)
    with pytest.raises(CryptoRefused) as refused:
        await establish(Client(published(old)), machine)
    message = str(refused.value)
    assert message.startswith(
        "device DEV1 has stale one-time keys on the server signed with a previous identity key"
    )
    assert (
        "create a new access token" in message
        and "DELETE /_synapse/admin/v2/users/%40bot%3Ax/devices/DEV1" in message
    )
    assert "delete /home/store/crypto.db" in message
    assert machine.account is None and machine.shared_keys == 0


async def test_on_postgresql_an_empty_store_for_a_known_device_says_to_start_the_old_host_first() -> None:
    location = StoreLocation(StorePaths(Path("/home/store")), "postgresql://db/hermes")
    machine = Machine(None)
    with pytest.raises(CryptoRefused) as refused:
        await establish_identity(Client(published(OlmAccount())), machine, location)  # type: ignore[arg-type]
    message = str(refused.value)
    assert "the crypto store in schema matrix_crypto has no account for it" in message
    assert "start the gateway on that host first" in message
    assert "empty the crypto store with `hermes matrix reset-crypto`" in message
    assert "/home/store" not in message and machine.account is None


async def test_a_store_whose_identity_differs_from_the_server_is_refused() -> None:
    machine = Machine(OlmAccount())
    server = published(OlmAccount())
    with pytest.raises(CryptoRefused, match=re.escape(f"the server has ed25519 key {server.ed25519}")):
        await establish(Client(server), machine)
    assert machine.shared_keys == 0


async def test_a_one_time_key_conflict_is_refused_with_the_way_out() -> None:
    conflict = make_request_error(
        400, "{}", "M_UNKNOWN", "One time key signed_curve25519:AAAAAQ already exists. Old key: a; new key: b"
    )
    with pytest.raises(CryptoRefused, match=r"stale one-time keys .*upload refused: One time key") as refused:
        await establish(Client(None), Machine(None, upload_error=conflict))
    assert "To recover, either (1) give the bot a new device" in str(refused.value)


async def test_other_upload_failures_pass_through_to_be_retried() -> None:
    unavailable = make_request_error(502, "{}", None, "bad gateway")
    with pytest.raises(Exception) as raised:
        await establish(Client(None), Machine(None, upload_error=unavailable))
    assert raised.value is unavailable


async def test_keys_the_server_lost_are_published_again() -> None:
    account = OlmAccount()
    account.shared = True
    machine = Machine(account)
    await establish(Client(None), machine)
    assert machine.shared_keys == 1


# -- modes ---------------------------------------------------------------------------------------------


def options(mode: E2EEMode, tmp_path: Path) -> MatrixOptions:
    return MatrixOptions(
        login=LoginSettings("http://127.0.0.1:1", "token", None, None, None),
        access=AccessList(),
        require_mention=True,
        free_rooms=frozenset(),
        auto_thread=True,
        dm_mention_threads=False,
        process_notices=False,
        ignore_patterns=(),
        max_media_bytes=1000,
        max_message_chars=1000,
        home_room=None,
        e2ee_mode=mode,
        recovery_key=None,
        state_dir=tmp_path,
        media_dir=tmp_path / "media",
    )


CREDENTIALS = Credentials("http://127.0.0.1:1", USER, DEVICE, "token")


async def test_mode_off_starts_nothing(tmp_path: Path) -> None:
    assert await start_e2ee(None, CREDENTIALS, options("off", tmp_path)) is None  # type: ignore[arg-type]
    assert await asyncio.to_thread(os.listdir, tmp_path) == []


async def test_without_python_olm_optional_goes_on_and_required_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "olm", None)
    assert await start_e2ee(None, CREDENTIALS, options("optional", tmp_path)) is None  # type: ignore[arg-type]
    assert "end-to-end encryption is off: python-olm cannot be loaded" in caplog.text
    with pytest.raises(
        E2EERequired, match="install it with pip install 'mautrix\\[encryption\\]'"
    ) as refused:
        await start_e2ee(None, CREDENTIALS, options("required", tmp_path))  # type: ignore[arg-type]
    assert isinstance(refused.value, StartRefused)
    assert await asyncio.to_thread(os.listdir, tmp_path) == []


async def test_a_token_without_a_device_cannot_encrypt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    no_device = replace(CREDENTIALS, device_id=None)
    assert await start_e2ee(None, no_device, options("optional", tmp_path)) is None  # type: ignore[arg-type]
    assert "encryption keys belong to a device: set MATRIX_DEVICE_ID" in caplog.text


def test_doctor_says_whether_encryption_can_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert encryption_check(options("off", tmp_path)) is None
    ready = encryption_check(options("optional", tmp_path))
    assert ready is not None and ready.line() == "✓ matrix: end-to-end encryption optional (python-olm loads)"
    monkeypatch.setitem(sys.modules, "olm", None)
    broken = encryption_check(options("required", tmp_path))
    assert broken is not None and not broken.ok
    assert "MATRIX_E2EE_MODE=required but python-olm cannot be loaded" in broken.line()
    assert broken.line().endswith("Matrix will not start — fix: pip install 'mautrix[encryption]'")


# -- attachments ---------------------------------------------------------------------------------------


def test_an_attachment_roundtrips_and_a_wrong_hash_or_missing_key_is_refused() -> None:
    ciphertext, file = encrypt_file(b"the quarterly numbers")
    assert "url" not in file and ciphertext != b"the quarterly numbers"
    assert decrypt_file(ciphertext, file) == b"the quarterly numbers"
    with pytest.raises(BadAttachment, match="does not match its SHA-256 hash"):
        decrypt_file(ciphertext + b"x", file)
    with pytest.raises(BadAttachment, match="incomplete"):
        decrypt_file(ciphertext, {**file, "key": {}})
    with pytest.raises(BadAttachment, match="unknown encryption scheme"):
        decrypt_file(ciphertext, {**file, "v": "v9"})


def test_logging_of_crypto_noise_is_filtered(caplog: pytest.LogCaptureFixture) -> None:
    noisy = logging.getLogger("hermes.platforms.matrix.crypto.olm")
    noisy.warning("Device @a:x/D isn't cross-signed")
    noisy.warning("Didn't find cross-signing key master of @a:x")
    noisy.warning("something that matters")
    assert [r.message for r in caplog.records] == ["something that matters"]


def test_request_errors_used_here_carry_their_message() -> None:
    error: Any = make_request_error(400, "{}", "M_UNKNOWN", "already exists")
    assert error.http_status == 400 and "already exists" in error.message
