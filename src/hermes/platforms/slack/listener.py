"""What the bot hears: envelopes acked on arrival, then handed to the hub one at a time, in order.

Acking first is what Slack asks (within 3 s, whatever the handler does next); the hub's inbox, written
before anything runs, is what makes that safe: an event acked and then lost to a crash is still in the
inbox, or is read back by the next catch-up. Every new socket (slack_sdk's `hello`) queues a catch-up
ahead of the events that follow it, so the cursor never moves past a message that was not handed over.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from hermes.platforms.base import ChatRef, HubPort, Inbound
from hermes.platforms.slack.addressing import PLATFORM, Bot, Policy, ignored, mentioned
from hermes.platforms.slack.catchup import Cursor, open_window, read_channels, read_direct
from hermes.platforms.slack.inbound import InboundBuilder
from hermes.platforms.slack.interactions import action_inbounds, reaction_inbound, slash_inbound
from hermes.platforms.slack.socket import acknowledge
from hermes.platforms.slack.web import SlackWeb

log = logging.getLogger(__name__)
_CATCH_UP = object()
FRESH_KEPT = 10_000
CATCH_UP_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class Slash:
    payload: dict[str, Any]


@dataclass(frozen=True)
class Action:
    payload: dict[str, Any]


class Listener:
    def __init__(
        self,
        *,
        web: SlackWeb,
        bot: Bot,
        policy: Policy,
        builder: InboundBuilder,
        hub: HubPort,
        cursor: Cursor | None,
        on_addressed: Callable[[Inbound, bool], Awaitable[None]],
        on_slash: Callable[[str, str], None],
        chat_of: Callable[[str, str], ChatRef | None],
    ) -> None:
        self.web = web
        self.bot = bot
        self.policy = policy
        self.builder = builder
        self.hub = hub
        self.cursor = cursor
        self.on_addressed = on_addressed
        self.on_slash = on_slash
        self.chat_of = chat_of
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.caught_up = asyncio.Event()
        # Events this process handed to the hub first: their replies cannot have been posted by an
        # earlier process, so sending them needs no look for an already-posted chunk.
        self._fresh: OrderedDict[str, None] = OrderedDict()
        self._retry_pending = False
        # The threads the bot was in before a restart, so that their replies still count as addressed.
        for channel, thread_ts in cursor.threads if cursor is not None else ():
            builder.threads.joined(channel, thread_ts)

    def is_fresh(self, event_id: str) -> bool:
        return event_id in self._fresh

    # -- from the socket (slack_sdk's listeners) -------------------------------------------------------

    async def on_message(
        self, client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
    ) -> None:
        if message.get("type") == "hello":
            self.queue.put_nowait(_CATCH_UP)

    async def on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        if request.type == "slash_commands":
            command = str(request.payload.get("command") or "")
            shown = f"{command} {request.payload.get('text') or ''}".strip()
            await acknowledge(client, request, {"response_type": "ephemeral", "text": f"Running `{shown}`…"})
            self.queue.put_nowait(Slash(request.payload))
            return
        # Everything is acked, handled or not: an envelope left unacked comes back again and again.
        await acknowledge(client, request, None)
        if request.type == "events_api":
            self.queue.put_nowait(request.payload)
        elif request.type == "interactive":
            self.queue.put_nowait(Action(request.payload))

    # -- handing over ----------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            item = await self.queue.get()
            try:
                if item is _CATCH_UP:
                    await self.catch_up()
                elif isinstance(item, Slash):
                    await self._slash(item.payload)
                elif isinstance(item, Action):
                    await self._action(item.payload)
                else:
                    await self._event(item)
            except asyncio.CancelledError:
                raise
            except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                # The cursor did not move past what could not be read: a catch-up reads it again, the
                # next connection's or, so that a quiet socket does not leave it waiting, one soon.
                log.warning("slack: could not read what was said (%s); reading it again shortly", exc)
                self._catch_up_later()
            except Exception:
                log.exception("slack: unexpected error while handing a message over")

    def _catch_up_later(self) -> None:
        if not self._retry_pending:
            self._retry_pending = True
            asyncio.get_running_loop().call_later(CATCH_UP_RETRY_SECONDS, self._queue_catch_up)

    def _queue_catch_up(self) -> None:
        self._retry_pending = False
        self.queue.put_nowait(_CATCH_UP)

    async def catch_up(self) -> None:
        if self.cursor is None:
            self.cursor = Cursor.now()
            await self.hub.save_cursor(PLATFORM, self.cursor.encode())
            log.info("slack: first start; answering messages from now on")
            self.caught_up.set()
            return
        self.cursor.threads = self._threads()
        # One window for both passes: the first pass moves the cursor on.
        window = await open_window(self.web, self.cursor)
        handed = 0
        newest = 0.0
        async with self.hub.catch_up(PLATFORM):
            for read in (read_direct, read_channels):
                backlog = await read(self.web, window)
                for event in backlog:
                    if await self._hand_over(event):
                        handed += 1
                newest = max([newest, *(float(event["ts"]) for event in backlog)])
        if newest > self.cursor.ts:
            # Only messages the hub passes over (the bot's own, say) were read past the cursor: moving
            # it keeps the next catch-up's window small.
            self.cursor.ts = newest
            await self.hub.save_cursor(PLATFORM, self.cursor.encode())
        if handed:
            log.info("slack: caught up on %d message(s)", handed)
        self.caught_up.set()

    async def _event(self, payload: dict[str, Any]) -> None:
        event = payload.get("event")
        if isinstance(event, dict) and event.get("type") == "reaction_added":
            item = event.get("item") or {}
            chat = self.chat_of(str(item.get("channel") or ""), str(item.get("ts") or ""))
            reaction = reaction_inbound(event, chat)
            if reaction is not None:
                await self.hub.receive(reaction)
            return
        if not isinstance(event, dict) or event.get("type") not in ("message", "app_mention"):
            return
        if not event.get("channel") or not event.get("ts"):
            log.warning("slack: ignoring a message event without channel or ts")
            return
        await self._hand_over(event)

    async def _hand_over(self, event: dict[str, Any]) -> bool:
        reason = ignored(event, self.bot, self.policy)
        if reason == "own message":
            self.builder.threads.joined(str(event["channel"]), str(event.get("thread_ts") or event["ts"]))
            return False
        if reason is not None:
            return False
        try:
            inbound = await self.builder.build(event)
        except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError):
            raise
        except Exception:
            # A message this adapter cannot read must not stop the ones after it.
            log.exception(
                "slack: could not read message %s/%s; skipped", event.get("channel"), event.get("ts")
            )
            return False
        ts = float(event["ts"])
        cursor = None
        if self.cursor is not None and ts > self.cursor.ts:
            self.cursor.ts = ts
            self.cursor.threads = self._threads()
            cursor = self.cursor.encode()
        known = inbound.event_id in self._fresh
        self._note_fresh(inbound.event_id)
        new = await self.hub.receive(inbound, cursor=cursor)
        if not new and not known:
            self._fresh.pop(inbound.event_id, None)
        elif inbound.addressed:
            await self.on_addressed(inbound, mentioned(str(event.get("text") or ""), self.bot, self.policy))
        return new

    def _note_fresh(self, event_id: str) -> None:
        # Noted before the hub sees it: the hub may answer before `receive` returns.
        self._fresh[event_id] = None
        while len(self._fresh) > FRESH_KEPT:
            self._fresh.popitem(last=False)

    def _threads(self) -> list[tuple[str, str]]:
        return self.builder.threads.recent()

    async def _slash(self, payload: dict[str, Any]) -> None:
        inbound = slash_inbound(payload)
        if payload.get("response_url"):
            self.on_slash(inbound.chat.chat_id, str(payload["response_url"]))
        self._note_fresh(inbound.event_id)
        await self.hub.receive(inbound)

    async def _action(self, payload: dict[str, Any]) -> None:
        for inbound in action_inbounds(payload):
            await self.hub.receive(inbound)
