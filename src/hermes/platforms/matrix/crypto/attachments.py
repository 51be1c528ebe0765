"""Encrypted attachments (the `file` key of a media event): AES-CTR with a per-file key, the SHA-256 of the
ciphertext checked before anything is decrypted."""

from __future__ import annotations

from typing import Any

from mautrix.crypto.attachments import decrypt_attachment, encrypt_attachment
from mautrix.errors import DecryptionError


class BadAttachment(Exception):
    """An encrypted attachment that cannot be read; the message says why."""


def encrypt_file(data: bytes) -> tuple[bytes, dict[str, Any]]:
    """The ciphertext to upload and the `file` object (without its `url`) that lets recipients read it."""
    ciphertext, file = encrypt_attachment(data)
    described = file.serialize()
    described.pop("url", None)
    return ciphertext, described


def decrypt_file(ciphertext: bytes, file: dict[str, Any]) -> bytes:
    key = found if isinstance(found := file.get("key"), dict) else {}
    hashes = found if isinstance(found := file.get("hashes"), dict) else {}
    secret, digest, iv = key.get("k"), hashes.get("sha256"), file.get("iv")
    if not (isinstance(secret, str) and isinstance(digest, str) and isinstance(iv, str)):
        raise BadAttachment("its encryption details are incomplete")
    if key.get("alg", "A256CTR") != "A256CTR" or file.get("v", "v2") not in ("v1", "v2"):
        raise BadAttachment("it uses an unknown encryption scheme")
    try:
        return decrypt_attachment(ciphertext, secret, digest, iv)
    except DecryptionError as exc:
        if "digest" in str(exc):
            raise BadAttachment("its content does not match its SHA-256 hash") from None
        raise BadAttachment(f"it cannot be decrypted ({exc})") from None
