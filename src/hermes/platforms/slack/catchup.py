"""Reading back what was said while the bot was not listening. Slack redelivers an unacked event a few
times over minutes and keeps nothing for an app with no socket open, so on every new connection the bot
reads its conversations (`users.conversations`) since its cursor with `conversations.history`, and the
threads with new replies (those whose parent is in that window, and the threads the bot takes part in,
listed in the cursor) with `conversations.replies`.

DMs and the bot's threads are read and answered first, the channels' own history after them.

The cursor is the `ts` of the newest message handed to the hub plus the threads the bot is in, stored by
the hub with that message. The window starts `OVERLAP_SECONDS` before it: the inbox drops what it already
has, and Slack can publish a message a moment after a newer one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from hermes.platforms.slack.web import SlackWeb, error_code, retry_after

log = logging.getLogger(__name__)

OVERLAP_SECONDS = 60.0
CONCURRENCY = 4
PAGE = 200
MAX_THREADS = 100
_TYPES = "public_channel,private_channel,mpim,im"
DIRECT = frozenset({"im", "mpim"})


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


@dataclass(frozen=True)
class Window:
    """One catch-up: where it starts, the bot's conversations, and the threads it takes part in."""

    oldest: str
    conversations: dict[str, str]
    threads: dict[str, set[str]]

    @property
    def direct(self) -> dict[str, str]:
        return {c: k for c, k in self.conversations.items() if k in DIRECT}

    @property
    def channels(self) -> dict[str, str]:
        return {c: k for c, k in self.conversations.items() if k not in DIRECT}


async def open_window(web: SlackWeb, cursor: Cursor) -> Window:
    threads: dict[str, set[str]] = {}
    for channel, thread_ts in cursor.threads:
        threads.setdefault(channel, set()).add(thread_ts)
    return Window(f"{max(cursor.ts - OVERLAP_SECONDS, 0):.6f}", await conversations(web), threads)


async def read_direct(web: SlackWeb, window: Window) -> list[dict[str, Any]]:
    """First what matters most: the DMs, and the replies in the channel threads the bot is in."""
    reads = [_conversation(web, window, channel, kind) for channel, kind in window.direct.items()]
    reads += [
        _threads(web, window, channel, kind, window.threads.get(channel, set()))
        for channel, kind in window.channels.items()
        if window.threads.get(channel)
    ]
    return await _gathered(reads)


async def read_channels(web: SlackWeb, window: Window) -> list[dict[str, Any]]:
    """Then the channels' own history (mentions, free-response channels) and its new threads. On an app
    under Slack's stricter history limits this part can take minutes; the DMs are answered by then."""
    return await _gathered(
        [_conversation(web, window, channel, kind) for channel, kind in window.channels.items()]
    )


async def _gathered(reads: list[Coroutine[Any, Any, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def limited(read: Coroutine[Any, Any, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        async with limit:
            return await read

    results = await asyncio.gather(*(limited(read) for read in reads))
    unique = {(m["channel"], m["ts"]): m for batch in results for m in batch}
    return sorted(unique.values(), key=lambda m: (float(m["ts"]), m["channel"]))


async def _conversation(web: SlackWeb, window: Window, channel: str, kind: str) -> list[dict[str, Any]]:
    top = await _unless_gone(_paged(web, "conversations_history", channel=channel, oldest=window.oldest))
    fresh = {str(m["ts"]) for m in top if float(m.get("latest_reply") or 0) > float(window.oldest)}
    tracked = window.threads.get(channel, set())
    # A channel's threads the bot is in were read by `read_direct` already; a DM's are read with it.
    fresh = fresh | tracked if kind in DIRECT else fresh - tracked
    found = _stamped([m for m in top if float(m["ts"]) > float(window.oldest)], channel, kind)
    return found + await _threads(web, window, channel, kind, fresh)


async def _threads(
    web: SlackWeb, window: Window, channel: str, kind: str, threads: set[str]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for thread_ts in sorted(threads):
        replies = await _unless_gone(
            _paged(web, "conversations_replies", channel=channel, ts=thread_ts, oldest=window.oldest)
        )
        found += [
            m for m in replies if m.get("ts") != m.get("thread_ts") and float(m["ts"]) > float(window.oldest)
        ]
    return _stamped(found, channel, kind)


async def _unless_gone(read: Coroutine[Any, Any, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """A conversation or thread that cannot be read (deleted, the bot removed, a scope missing) is passed
    over, or one such would stop every catch-up; a rate limit still ends this one, to be tried again."""
    try:
        return await read
    except SlackApiError as exc:
        if retry_after(exc) is not None:
            raise
        log.warning("slack: catch-up passes over what it cannot read (%s)", error_code(exc))
        return []


def _stamped(messages: list[dict[str, Any]], channel: str, kind: str) -> list[dict[str, Any]]:
    return [{**m, "channel": channel, "channel_type": kind} for m in messages]
