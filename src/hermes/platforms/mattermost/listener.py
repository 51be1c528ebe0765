"""Keeping the bot listening: catch up, follow the WebSocket, and reconnect when it drops.

Each connection starts with a catch-up (see `catchup`), then takes live `posted` events in order. Both
paths hand posts to the hub the same way; the inbox drops the ones it already has, so a post read twice
(live and again by a later catch-up) is still answered once. Live events wait in the socket's queue
while the catch-up runs, so the cursor never moves past a post that was not handed over.

A dropped connection is retried with exponential backoff (2 s doubling to 60 s, with jitter), back to
the start once a connection is up and caught up. A token the server stops accepting ends the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

import aiohttp

from hermes.backoff import Backoff
from hermes.platforms.base import HubPort
from hermes.platforms.mattermost.catchup import (
    create_at,
    encode_cursor,
    list_channels,
    read_backlog,
    starting_cursor,
)
from hermes.platforms.mattermost.inbound import PLATFORM, InboundBuilder, PostContext, ignored, parse_posted
from hermes.platforms.mattermost.options import MattermostOptions
from hermes.platforms.mattermost.rest import MattermostError, RestClient
from hermes.platforms.mattermost.websocket import AuthenticationRefused, EventStream, StreamClosed

log = logging.getLogger(__name__)


class Reporter(Protocol):
    """Tells the platform how its connection is doing (`Platform.problem` / `halted`)."""

    def __call__(self, problem: str | None, *, halted: bool = False) -> None: ...


class Listener:
    def __init__(
        self,
        *,
        rest: RestClient,
        options: MattermostOptions,
        bot_id: str,
        builder: InboundBuilder,
        hub: HubPort,
        cursor: int | None,
        report: Reporter,
    ) -> None:
        self.rest = rest
        self.options = options
        self.bot_id = bot_id
        self.builder = builder
        self.hub = hub
        self.cursor = cursor
        self.report = report
        self.backoff = Backoff(options.reconnect_min, options.reconnect_max)
        self.stream: EventStream | None = None

    async def open_stream(self) -> EventStream:
        return await EventStream.open(
            self.options.ws_url, self.options.token, ping_interval=self.options.ping_interval
        )

    async def run(self, stream: EventStream) -> None:
        """Serve `stream`, then every reconnection, until cancelled or the token is refused."""
        current: EventStream | None = stream
        while current is not None:
            self.stream = current
            try:
                await self._serve(current)
            except StreamClosed as exc:
                reason = str(exc)
            except (MattermostError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                # The hub could not take a post (its store failed, say), or the server sent what could
                # not be read: nothing is lost, since the cursor did not move past it; the next
                # connection's catch-up reads it again.
                log.exception("mattermost: unexpected error while listening")
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                await current.close()
            self.report(f"disconnected: {reason}")
            log.warning("mattermost: connection lost (%s); reconnecting", reason)
            current = await self._reconnect()

    async def _serve(self, stream: EventStream) -> None:
        await self.catch_up()
        self.backoff.reset()
        while True:
            frame = await stream.next_event()
            await self._on_frame(frame)

    async def _reconnect(self) -> EventStream | None:
        while True:
            await asyncio.sleep(self.backoff.next_delay())
            try:
                stream = await self.open_stream()
            except AuthenticationRefused:
                if await self._token_refused():
                    return None
                continue
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.report(f"disconnected: cannot reconnect: {exc}")
                log.info("mattermost: reconnect failed (%s)", exc)
                continue
            self.report(None)
            log.info("mattermost: reconnected (connection %s)", stream.hello.connection_id)
            return stream

    async def _token_refused(self) -> bool:
        try:
            await self.rest.me()
        except MattermostError as exc:
            if exc.status == 401:
                self.report(
                    "credentials rejected: the server no longer accepts MATTERMOST_TOKEN", halted=True
                )
                log.error(
                    "mattermost: the server no longer accepts MATTERMOST_TOKEN (%s); Mattermost is stopped "
                    "until restart — set a new token and restart the gateway",
                    exc.message,
                )
                return True
        except (aiohttp.ClientError, OSError, TimeoutError):
            pass
        return False

    # -- catch-up --------------------------------------------------------------------------------------

    async def catch_up(self) -> None:
        if self.cursor is None:
            channels = await list_channels(self.rest)
            self.cursor = starting_cursor(channels, int(time.time() * 1000))
            await self.hub.save_cursor(PLATFORM, encode_cursor(self.cursor))
            log.info("mattermost: first start; answering posts from now on")
            return
        backlog = await read_backlog(self.rest, self.cursor)
        newest = max((create_at(p) for p in backlog.posts), default=self.cursor)
        handed = [p for p in backlog.posts if not self._skip(p) and p.get("channel_id") in backlog.channels]
        saved = False
        for index, post in enumerate(handed):
            channel = backlog.channels[post["channel_id"]]
            context = PostContext(channel_type=channel.type, channel_name=channel.name)
            last = index == len(handed) - 1 and newest > self.cursor
            saved = await self._hand_over(post, context, encode_cursor(newest) if last else None)
        if newest > self.cursor:
            if not saved:
                await self.hub.save_cursor(PLATFORM, encode_cursor(newest))
            self.cursor = newest
        if handed:
            log.info("mattermost: caught up on %d post(s)", len(handed))

    # -- live events -----------------------------------------------------------------------------------

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        if frame.get("event") != "posted":
            return
        data = frame.get("data")
        parsed = parse_posted(data, self.bot_id) if isinstance(data, dict) else None
        if parsed is None:
            log.warning("mattermost: ignoring a malformed posted event")
            return
        post, context = parsed
        if self._skip(post):
            return
        created = create_at(post)
        advance = self.cursor is None or created > self.cursor
        saved = await self._hand_over(post, context, encode_cursor(created) if advance else None)
        if advance:
            if not saved:
                await self.hub.save_cursor(PLATFORM, encode_cursor(created))
            self.cursor = created

    def _skip(self, post: dict[str, Any]) -> bool:
        reason = ignored(post, self.bot_id)
        if reason == "own post":
            self.builder.threads.note_own(post)
        return reason is not None

    async def _hand_over(self, post: dict[str, Any], context: PostContext, cursor: str | None) -> bool:
        """Give one post to the hub; True when it was new (and `cursor`, if any, stored with it)."""
        try:
            inbound = await self.builder.build(post, context)
        except (MattermostError, aiohttp.ClientError, OSError, TimeoutError):
            raise
        except Exception:
            # A post this adapter cannot read must not stop the ones after it.
            log.exception("mattermost: could not read post %s; skipped", post.get("id"))
            return False
        return await self.hub.receive(inbound, cursor=cursor)
