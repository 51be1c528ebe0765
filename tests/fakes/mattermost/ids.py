"""Identifiers and clocks as the server makes them (public/model/utils.go NewId, IsValidId, GetMillis)."""

from __future__ import annotations

import base64
import time
import uuid

# The server's base32 alphabet: z-base-32-like, lower case, no padding (utils.go:381).
_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"
_TRANSLATE = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def new_id() -> str:
    """A 26-character id, as `model.NewId()` makes for users, posts, tokens and request ids."""
    encoded = base64.b32encode(uuid.uuid4().bytes).translate(_TRANSLATE)
    return encoded.decode()[:26]


def is_valid_id(value: object) -> bool:
    """`model.IsValidId`: 26 ASCII letters or digits."""
    return isinstance(value, str) and len(value) == 26 and value.isascii() and value.isalnum()


def now_ms() -> int:
    return time.time_ns() // 1_000_000
