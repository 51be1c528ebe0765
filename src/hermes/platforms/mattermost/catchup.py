"""Reading back what was said while the bot was not listening, so nothing is lost and nothing doubled.

The cursor is the `create_at` (server milliseconds) of the newest post handed to the hub, stored by the
hub with that post (as a decimal string). On start and on every reconnect the bot lists its channels
(`GET /users/me/channels`: every team's channels, DMs and group messages), skips those whose
`last_post_at` is older than the window, and reads the rest with `GET /channels/{id}/posts?since=`.
The window starts `OVERLAP_MS` before the cursor, because the cursor alone is not a safe boundary:
two posts can share a millisecond, and a busy (or clustered) server can publish posts slightly out of
`create_at` order, so the newest post seen live does not prove every older one was seen. Whatever the
overlap reads again is dropped by the inbox, which knows every post id it accepted.

`since` selects by `update_at`, so it also returns old posts that were edited, reacted to or replied to,
and the edit-history copies of edited posts (deleted rows with the old text): only live posts created
inside the window are kept. A `since` listing stops at 1000 posts in no particular order; a channel that
fills it is read page by page instead, newest first, down to the window.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from hermes.platforms.mattermost.rest import RestClient

OVERLAP_MS = 60_000
SINCE_LIMIT = 1000
PAGE_SIZE = 200
CONCURRENCY = 4


def parse_cursor(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def encode_cursor(create_at: int) -> str:
    return str(create_at)


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    type: str
    name: str
    last_post_at: int

    @classmethod
    def from_json(cls, channel: dict[str, Any]) -> ChannelInfo:
        return cls(
            id=str(channel.get("id") or ""),
            type=str(channel.get("type") or "O"),
            name=str(channel.get("name") or ""),
            last_post_at=_int(channel.get("last_post_at")),
        )


@dataclass(frozen=True)
class Backlog:
    channels: dict[str, ChannelInfo]
    # Live posts created inside the window, oldest first (ties broken by id, so the order is stable).
    posts: list[dict[str, Any]]


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def create_at(post: dict[str, Any]) -> int:
    return _int(post.get("create_at"))


async def list_channels(rest: RestClient) -> dict[str, ChannelInfo]:
    channels = await rest.my_channels()
    infos = (ChannelInfo.from_json(c) for c in channels if isinstance(c, dict))
    return {info.id: info for info in infos if info.id}


def starting_cursor(channels: dict[str, ChannelInfo], now_ms: int) -> int:
    """For a bot with no cursor yet: everything already said counts as seen (a new bot does not answer
    the history of every channel it was added to)."""
    return max((c.last_post_at for c in channels.values()), default=now_ms)


async def read_backlog(rest: RestClient, cursor: int) -> Backlog:
    channels = await list_channels(rest)
    window = max(cursor - OVERLAP_MS, 0)
    active = [c for c in channels.values() if c.last_post_at > window]
    limit = asyncio.Semaphore(CONCURRENCY)

    async def read(channel: ChannelInfo) -> list[dict[str, Any]]:
        async with limit:
            return await _channel_posts(rest, channel.id, window)

    found: dict[str, dict[str, Any]] = {}
    for posts in await asyncio.gather(*(read(c) for c in active)):
        for post in posts:
            found[str(post["id"])] = post
    ordered = sorted(found.values(), key=lambda p: (create_at(p), str(p["id"])))
    return Backlog(channels, ordered)


async def _channel_posts(rest: RestClient, channel_id: str, window: int) -> list[dict[str, Any]]:
    listing = await rest.posts_since(channel_id, window)
    order = listing.get("order") or []
    if len(order) >= SINCE_LIMIT:
        return await _paged(rest, channel_id, window)
    return _created_after(listing, order, window)


async def _paged(rest: RestClient, channel_id: str, window: int) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    page = 0
    while True:
        listing = await rest.posts_page(channel_id, page, PAGE_SIZE)
        order = listing.get("order") or []
        kept += _created_after(listing, order, window)
        posts = listing.get("posts") or {}
        oldest = min((create_at(posts[pid]) for pid in order if isinstance(posts.get(pid), dict)), default=0)
        if len(order) < PAGE_SIZE or oldest <= window:
            return kept
        page += 1


def _created_after(listing: dict[str, Any], order: list[Any], window: int) -> list[dict[str, Any]]:
    posts = listing.get("posts") or {}
    kept = []
    for post_id in order:
        post = posts.get(post_id)
        if (
            isinstance(post, dict)
            and isinstance(post.get("id"), str)
            and _int(post.get("delete_at")) == 0
            and create_at(post) > window
        ):
            kept.append(post)
    return kept
