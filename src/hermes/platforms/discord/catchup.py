"""Reading back what was said while the bot was not listening (a restart, or a Gateway session that
could not be resumed), so every message is answered once.

The cursor holds the newest message id handed to the hub in each channel, and the newest overall. Ids
are snowflakes, ordered by time within a channel, so a channel's cursor is an exact boundary: the
catch-up reads `GET /channels/{id}/messages?after=<cursor>` page by page. Channels without a cursor of
their own (never heard from, or forgotten) are read from the overall cursor less `OVERLAP_MS`, since
messages in different channels may reach the bot slightly out of order; what is read twice the inbox
drops. Nothing older than the hub's message-age window is read.

DM channels cannot be listed by a bot, so they are read only when the cursor remembers them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hermes.platforms.discord.rest import DiscordError, RestClient

log = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1_420_070_400_000
OVERLAP_MS = 60_000
PAGE = 100
CONCURRENCY = 4
# Channels remembered in the cursor, newest activity first; the rest fall back to the overall cursor.
MAX_CHANNELS = 500


def snowflake_at(ms: float) -> int:
    return max(int(ms) - DISCORD_EPOCH_MS, 0) << 22


def snowflake_ms(snowflake: int) -> int:
    return (snowflake >> 22) + DISCORD_EPOCH_MS


@dataclass
class Cursor:
    last: int
    channels: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> Cursor | None:
        if not raw:
            return None
        try:
            data = json.loads(raw)
            channels = {str(k): int(v) for k, v in dict(data.get("channels") or {}).items()}
            return cls(int(data["last"]), channels)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("discord: the stored cursor is unreadable; starting from now")
            return None

    def encode(self) -> str:
        return json.dumps({"last": str(self.last), "channels": {k: str(v) for k, v in self.channels.items()}})

    def advance(self, channel_id: str, message_id: int) -> bool:
        """Note a message handed to the hub; True when the cursor moved."""
        moved = False
        if message_id > self.channels.get(channel_id, 0):
            self.channels[channel_id] = message_id
            moved = True
            if len(self.channels) > MAX_CHANNELS:
                oldest = min(self.channels, key=self.channels.__getitem__)
                del self.channels[oldest]
        if message_id > self.last:
            self.last = message_id
            moved = True
        return moved


async def read_backlog(
    rest: RestClient, channel_ids: Iterable[str], cursor: Cursor, now_ms: float, max_age_seconds: float
) -> list[dict[str, Any]]:
    """Every message after the cursor in these channels (and the remembered ones), oldest first."""
    floor = snowflake_at(now_ms - max_age_seconds * 1000)
    fallback = max(snowflake_at(snowflake_ms(cursor.last) - OVERLAP_MS), floor)
    targets = {cid: max(cursor.channels.get(cid, fallback), floor) for cid in channel_ids}
    for cid, last in cursor.channels.items():
        targets.setdefault(cid, max(last, floor))
    limit = asyncio.Semaphore(CONCURRENCY)

    async def read(channel_id: str, after: int) -> list[dict[str, Any]]:
        async with limit:
            return await _after(rest, channel_id, after)

    found: dict[str, dict[str, Any]] = {}
    for messages in await asyncio.gather(*(read(c, a) for c, a in targets.items())):
        for message in messages:
            found[str(message["id"])] = message
    return sorted(found.values(), key=lambda m: int(m["id"]))


async def _after(rest: RestClient, channel_id: str, after: int) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    while True:
        try:
            page = await rest.request(
                "GET",
                "/channels/{channel_id}/messages",
                params={"channel_id": channel_id},
                query={"after": str(after), "limit": str(PAGE)},
            )
        except DiscordError as exc:
            # A channel the bot can no longer read (removed, permissions): nothing to answer there.
            if exc.status in (403, 404):
                return kept
            raise
        if not isinstance(page, list):
            return kept
        messages = [m for m in page if isinstance(m, dict) and str(m.get("id", "")).isdigit()]
        kept += messages
        if len(page) < PAGE or not messages:
            return kept
        after = max(int(m["id"]) for m in messages)
