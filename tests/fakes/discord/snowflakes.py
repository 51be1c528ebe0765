"""Snowflakes: (ms since the Discord epoch) << 22 | increment, serialised as strings."""

from __future__ import annotations

import time

DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake_at(ms: int, increment: int = 0) -> str:
    return str(((ms - DISCORD_EPOCH_MS) << 22) | (increment & 0xFFF))


def snowflake_ms(snowflake: str | int) -> int:
    return (int(snowflake) >> 22) + DISCORD_EPOCH_MS


class SnowflakeMint:
    """Real, strictly increasing ids: clients order history and compute `created_at` from them."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> str:
        value = ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | 1 << 17
        value = max(value, self._last + 1)
        self._last = value
        return str(value)
