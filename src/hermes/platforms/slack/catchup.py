"""Reading back what was said while the bot was not listening. Slack redelivers an unacked event a few
times over minutes and keeps nothing for an app with no socket open, so on every new connection the bot
reads its conversations (`users.conversations`) since its cursor with `conversations.history`, and the
threads with new replies (those whose parent is in that window, and the threads the bot takes part in,
listed in the cursor) with `conversations.replies`.

The cursor is the `ts` of the newest message handed to the hub plus the threads the bot is in, stored by
the hub with that message. The window starts `OVERLAP_SECONDS` before it: the inbox drops what it already
has, and Slack can publish a message a moment after a newer one.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from hermes.platforms.slack.web import SlackWeb

OVERLAP_SECONDS = 60.0
CONCURRENCY = 4
PAGE = 200
MAX_THREADS = 100
_TYPES = "public_channel,private_channel,mpim,im"


@dataclass
class Cursor:
    ts: float
    threads: list[tuple[str, str]] = field(default_factory=list)

    def encode(self) -> str:
        return json.dumps({"ts": f"{self.ts:.6f}", "threads": [list(t) for t in self.threads[-MAX_THREADS:]]})

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        if not raw:
            return None
        try:
            value = json.loads(raw)
            threads = [(str(c), str(t)) for c, t in value.get("threads") or []]
            return cls(float(value["ts"]), threads)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    @classmethod
    def now(cls) -> Cursor:
        return cls(time.time())


def kind_of(conversation: dict[str, Any]) -> str:
    if conversation.get("is_im"):
        return "im"
    if conversation.get("is_mpim"):
        return "mpim"
    return "group" if conversation.get("is_private") else "channel"


async def conversations(web: SlackWeb) -> dict[str, str]:
    """The bot's conversations: id → channel_type."""
    found: dict[str, str] = {}
    cursor: str | None = None
    while True:
        page = await web.call(
            "users_conversations", types=_TYPES, exclude_archived=True, limit=PAGE, cursor=cursor
        )
        for conv in page.get("channels") or []:
            found[str(conv["id"])] = kind_of(conv)
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return found


async def _paged(web: SlackWeb, method: str, **args: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await web.call(method, limit=PAGE, cursor=cursor, **args)
        messages += page.get("messages") or []
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not page.get("has_more") or not cursor:
            return messages


async def read_backlog(web: SlackWeb, cursor: Cursor) -> list[dict[str, Any]]:
    """Every message since the window's start, as message events (`channel`, `channel_type` set), oldest
    first."""
    oldest = f"{max(cursor.ts - OVERLAP_SECONDS, 0):.6f}"
    convs = await conversations(web)
    tracked: dict[str, set[str]] = {}
    for channel, thread_ts in cursor.threads:
        tracked.setdefault(channel, set()).add(thread_ts)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def read(channel: str, kind: str) -> list[dict[str, Any]]:
        async with limit:
            top = await _paged(web, "conversations_history", channel=channel, oldest=oldest)
            threads = {str(m["ts"]) for m in top if float(m.get("latest_reply") or 0) > float(oldest)}
            threads |= tracked.get(channel, set())
            found = list(top)
            for thread_ts in sorted(threads):
                replies = await _paged(
                    web, "conversations_replies", channel=channel, ts=thread_ts, oldest=oldest
                )
                found += [m for m in replies if m.get("ts") != m.get("thread_ts")]
        return [
            {**m, "channel": channel, "channel_type": kind} for m in found if float(m["ts"]) > float(oldest)
        ]

    results = await asyncio.gather(*(read(c, k) for c, k in convs.items()))
    unique = {(m["channel"], m["ts"]): m for batch in results for m in batch}
    return sorted(unique.values(), key=lambda m: (float(m["ts"]), m["channel"]))
