"""Encrypted attachments (the `file` key of a media event): AES-CTR with a per-file key, the SHA-256 of the
ciphertext checked before anything is decrypted."""

from __future__ import annotations

import base64
import hashlib
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


def encryption_details(file: dict[str, Any]) -> tuple[str, str, str] | None:
    """The key, the ciphertext's SHA-256 and the iv of a `file` object; None when one is missing."""
    key = found if isinstance(found := file.get("key"), dict) else {}
    hashes = found if isinstance(found := file.get("hashes"), dict) else {}
    secret, digest, iv = key.get("k"), hashes.get("sha256"), file.get("iv")
    if not (isinstance(secret, str) and isinstance(digest, str) and isinstance(iv, str)):
        return None
    return secret, digest, iv


def decrypt_file(ciphertext: bytes, file: dict[str, Any]) -> bytes:
    details = encryption_details(file)
    if details is None:
        raise BadAttachment("its encryption details are incomplete")
    secret, digest, iv = details
    key = file["key"]
    if key.get("alg", "A256CTR") != "A256CTR" or file.get("v", "v2") not in ("v1", "v2"):
        raise BadAttachment("it uses an unknown encryption scheme")
    try:
        return decrypt_attachment(ciphertext, secret, digest, iv)
    except DecryptionError as exc:
        if "digest" in str(exc):
            raise BadAttachment("its content does not match its SHA-256 hash") from None
        raise BadAttachment(f"it cannot be decrypted ({exc})") from None


def describes(plaintext: bytes, file: dict[str, Any]) -> bool:
    """Whether `plaintext` is what this `file` object's key, iv and hash stand for: AES-CTR is its own
    inverse, so the plaintext is encrypted again and the result's SHA-256 compared with the declared one."""
    details = encryption_details(file)
    if details is None:
        return False
    secret, digest, iv = details
    # decrypt_attachment checks its input's hash first; here the input is the plaintext, so its own.
    own = base64.b64encode(hashlib.sha256(plaintext).digest()).decode().rstrip("=")
    try:
        ciphertext = decrypt_attachment(plaintext, secret, own, iv)
    except DecryptionError:
        return False
    return base64.b64encode(hashlib.sha256(ciphertext).digest()).decode().rstrip("=") == digest.rstrip("=")
