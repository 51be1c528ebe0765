"""Keeping the bot on the Gateway: connect, identify or resume, reconnect, and hand every dispatch, in
order, to the consumer.

Two tasks share one queue. The reader owns the socket: it tracks the session and the sequence number so
that a dropped connection resumes (Discord then replays what was missed), and it reconnects with
backoff. The consumer takes dispatches one at a time; after a READY (a new session: the first start, or a
session that could not be resumed) it first catches up on what was said meanwhile, once the guilds'
channels are known (GUILD_CREATE), so that live messages wait behind the backlog and the cursor never
moves past a message that was not handed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp

from hermes.backoff import Backoff
from hermes.platforms.base import HubPort
from hermes.platforms.discord.catchup import Cursor, read_backlog, snowflake_at
from hermes.platforms.discord.channels import Channels
from hermes.platforms.discord.gateway import GatewayRefused, GatewaySocket, Reconnect, Resume, SessionInvalid
from hermes.platforms.discord.inbound import PLATFORM, Built, InboundBuilder, ignored
from hermes.platforms.discord.rest import DiscordError, RestClient

log = logging.getLogger(__name__)


class Report(Protocol):
    """Tells the platform how its connection is doing (`Platform.problem` / `halted`)."""

    def __call__(self, problem: str | None, *, halted: bool = False) -> None: ...


GUILDS = 1 << 0
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
INTENTS = (
    GUILDS
    | GUILD_MESSAGES
    | GUILD_MESSAGE_REACTIONS
    | DIRECT_MESSAGES
    | DIRECT_MESSAGE_REACTIONS
    | MESSAGE_CONTENT
)
# How long the consumer waits for the guilds READY announced before catching up anyway.
GUILD_WAIT_SECONDS = 2.0
# After op 9 Discord asks for a random 1-5 s pause before identifying again.
INVALID_SESSION_PAUSE = (1.0, 5.0)


class Listener:
    def __init__(
        self,
        *,
        token: str,
        rest: RestClient,
        gateway_url: str,
        proxy: str | None,
        channels: Channels,
        builder: InboundBuilder,
        hub: HubPort,
        in_scope: Callable[[set[str]], bool],
        cursor: Cursor | None,
        max_age_seconds: float,
        backoff: Backoff,
        report: Report,
        on_accepted: Callable[[Built, dict[str, Any]], Awaitable[None]],
        on_interaction: Callable[[dict[str, Any]], Awaitable[None]],
        on_ready: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        self.token = token
        self.rest = rest
        self.gateway_url = gateway_url
        self.proxy = proxy
        self.channels = channels
        self.builder = builder
        self.hub = hub
        self.in_scope = in_scope
        self.cursor = cursor
        self.max_age_seconds = max_age_seconds
        self.backoff = backoff
        self.report = report
        self.on_accepted = on_accepted
        self.on_interaction = on_interaction
        self.on_ready = on_ready
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.session: Resume | None = None
        self.resume_url: str | None = None
        self.socket: GatewaySocket | None = None
        self.first_ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._catch_up_due = False
        self._awaited_guilds: set[str] = set()
        self._held: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the reader ------------------------------------------------------------------------------------

    async def read_forever(self) -> None:
        while True:
            pause = 0.0
            try:
                await self._connection()
            except SessionInvalid as exc:
                if not exc.resumable:
                    self.session = None
                pause = random.uniform(*INVALID_SESSION_PAUSE)
                log.info("discord: %s; %s", exc, "resuming" if self.session else "identifying again")
            except Reconnect as exc:
                if exc.session_lost:
                    self.session = None
                pause = self.backoff.next_delay()
                self.report(f"disconnected: {exc}")
                log.warning("discord: %s; reconnecting", exc)
            except GatewayRefused as exc:
                self._fail(exc)
                return
            except (aiohttp.ClientError, OSError, TimeoutError, DiscordError) as exc:
                pause = self.backoff.next_delay()
                self.report(f"disconnected: {type(exc).__name__}: {exc}")
                log.warning("discord: cannot reach the Gateway (%s); retrying", exc)
                if not self.first_ready.done():
                    self.first_ready.set_exception(ConnectionError(f"Discord Gateway: {exc}"))
                    return
            finally:
                if self.socket is not None:
                    await self.socket.close()
                    self.socket = None
            await asyncio.sleep(pause)

    def _fail(self, exc: GatewayRefused) -> None:
        if not self.first_ready.done():
            self.first_ready.set_exception(exc)
        else:
            self.report(f"stopped: {exc}", halted=True)
            log.error("discord: %s; Discord is stopped until restart", exc)

    async def _connection(self) -> None:
        resuming = self.session is not None and self.resume_url is not None
        url = self.resume_url if resuming and self.resume_url else self.gateway_url
        self.socket = socket = await GatewaySocket.connect(url, proxy=self.proxy)
        if resuming and self.session is not None:
            await socket.resume(self.token, self.session)
        else:
            await socket.identify(self.token, INTENTS)
        while True:
            payload = await socket.receive()
            kind = payload.get("t")
            data = payload.get("d")
            if kind == "READY" and isinstance(data, dict):
                self.session = Resume(str(data["session_id"]), socket.seq or 0)
                self.resume_url = str(data.get("resume_gateway_url") or self.gateway_url)
                self.backoff.reset()
                self.report(None)
                log.info("discord: connected (new session)")
                if not self.first_ready.done():
                    self.first_ready.set_result(data)
            elif kind == "RESUMED":
                self.backoff.reset()
                self.report(None)
                log.info("discord: resumed the session")
            if self.session is not None and socket.seq is not None:
                self.session = Resume(self.session.session_id, socket.seq)
            if kind == "INTERACTION_CREATE" and isinstance(data, dict):
                # Discord wants the acknowledgement within 3 s: not behind a catch-up in the queue.
                self._spawn(self._interaction(data))
            else:
                self.queue.put_nowait(payload)

    # -- the consumer ----------------------------------------------------------------------------------

    async def consume_forever(self) -> None:
        while True:
            if self._catch_up_due:
                # Waiting for the guilds READY announced, or to retry a catch-up that failed.
                try:
                    async with asyncio.timeout(GUILD_WAIT_SECONDS):
                        payload = await self.queue.get()
                except TimeoutError:
                    await self._catch_up()
                    continue
            else:
                payload = await self.queue.get()
            try:
                await self._on_dispatch(payload.get("t"), payload.get("d"))
            except (DiscordError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                # Nothing is lost: the cursor did not move past this message, and the next catch-up
                # (after a new session or a restart) reads it again.
                log.warning("discord: could not handle %s: %s", payload.get("t"), exc)
            except Exception:
                # An event this adapter cannot read must not stop the ones after it.
                log.exception("discord: could not handle a %s event; skipped", payload.get("t"))

    async def _on_dispatch(self, kind: Any, data: Any) -> None:
        if not isinstance(data, dict):
            return
        if kind == "READY":
            await self.on_ready(data)
            self._catch_up_due = True
            self._awaited_guilds = {str(g.get("id")) for g in data.get("guilds") or () if isinstance(g, dict)}
            if not self._awaited_guilds:
                await self._catch_up()
        elif kind == "GUILD_CREATE":
            self.channels.learn_guild(data)
            self._awaited_guilds.discard(str(data.get("id")))
            if self._catch_up_due and not self._awaited_guilds:
                await self._catch_up()
        elif kind in ("CHANNEL_CREATE", "CHANNEL_UPDATE", "THREAD_CREATE", "THREAD_UPDATE"):
            self.channels.learn(data)
        elif kind == "MESSAGE_CREATE":
            if not data.get("guild_id"):
                # Only DMs come without a guild on the Gateway: no need to look the channel up.
                self.channels.learn_dm(str(data.get("channel_id") or ""))
            if self._catch_up_due:
                # Held back until the backlog is handed over: a live message first would move its
                # channel's cursor past the messages the catch-up has still to read.
                self._held.append(data)
                await self._catch_up()
                return
            await self.hand_over(data)

    async def _catch_up(self) -> None:
        """Read what was said since the cursor; on failure it stays due and is retried."""
        try:
            await self._read_backlog()
        except (DiscordError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.report(f"catching up: {exc}")
            log.warning("discord: could not catch up (%s); retrying in %.0f s", exc, GUILD_WAIT_SECONDS)
            return
        self._catch_up_due = False
        self._awaited_guilds = set()
        held, self._held = self._held, []
        for message in held:
            await self.hand_over(message)

    async def _read_backlog(self) -> None:
        now_ms = time.time() * 1000
        if self.cursor is None:
            self.cursor = Cursor(snowflake_at(now_ms))
            await self.hub.save_cursor(PLATFORM, self.cursor.encode())
            log.info("discord: first start; answering messages from now on")
            return
        backlog = await read_backlog(
            self.rest, self.channels.readable(self.in_scope), self.cursor, now_ms, self.max_age_seconds
        )
        handed = 0
        for message in backlog:
            handed += await self.hand_over(message)
        if handed:
            log.info("discord: caught up on %d message(s)", handed)

    async def hand_over(self, message: dict[str, Any]) -> bool:
        """Give one message to the hub; True when it was new."""
        if not message.get("id") or not str(message["id"]).isdigit():
            return False
        reason = ignored(message, self.builder.bot_id)
        if reason == "own message":
            channel = self.channels.known.get(str(message.get("channel_id")))
            if channel is not None and channel.is_thread:
                self.channels.bot_joined(channel.id)
            return False
        if reason is not None:
            return False
        try:
            built = await self.builder.build(message)
        except (DiscordError, aiohttp.ClientError, OSError, TimeoutError):
            raise
        except Exception:
            # A message this adapter cannot read must not stop the ones after it.
            log.exception("discord: could not read message %s; skipped", message.get("id"))
            return False
        cursor = self.cursor or Cursor(0)
        self.cursor = cursor
        moved = cursor.advance(str(message.get("channel_id")), int(message["id"]))
        new = await self.hub.receive(built.inbound, cursor=cursor.encode() if moved else None)
        if new:
            await self.on_accepted(built, message)
        return new

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _interaction(self, data: dict[str, Any]) -> None:
        try:
            await self.on_interaction(data)
        except (DiscordError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("discord: could not answer a slash command: %s", exc)
        except Exception:
            log.exception("discord: could not read a slash command; skipped")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close(keep_session=False)
