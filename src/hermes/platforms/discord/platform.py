"""Hermes as a Discord bot: the platform the gateway starts when DISCORD_BOT_TOKEN is set. REST v10 for
everything the bot does, the Gateway for what it hears. DISCORD_API_URL points both at another server
(the Gateway URL comes from `GET /gateway/bot` on it, as Discord recommends).

A thin driver of our own on aiohttp (`rest`, `gateway`) rather than a library: discord.py dials fixed
URLs, and hikari hides the resume/identify distinction and the nonce the exactly-once path needs; the
driver is small and uses the stack the other platforms already use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp

from hermes.backoff import Backoff
from hermes.platforms.base import (
    Attachment,
    ChatRef,
    Check,
    HubPort,
    MessageRef,
    Platform,
    StatusValue,
    Trouble,
    register,
)
from hermes.platforms.discord.addressing import Policy, in_scope
from hermes.platforms.discord.catchup import Cursor
from hermes.platforms.discord.channels import Channels
from hermes.platforms.discord.files import FileFetcher
from hermes.platforms.discord.gateway import GatewayRefused
from hermes.platforms.discord.inbound import PLATFORM, Built, InboundBuilder
from hermes.platforms.discord.listener import Listener
from hermes.platforms.discord.options import DiscordOptions
from hermes.platforms.discord.outbound import MAX_CONTENT, Outbound
from hermes.platforms.discord.probe import probe
from hermes.platforms.discord.reactions import ProcessingMarks
from hermes.platforms.discord.refusals import refusal, sign_in
from hermes.platforms.discord.rest import PROBE, DiscordError, RestClient
from hermes.platforms.discord.settings import DiscordSettings
from hermes.platforms.discord.setup import WIZARD
from hermes.platforms.discord.slash import (
    clear_placeholder,
    command_specs,
    interaction_inbound,
    sync_commands,
)
from hermes.platforms.discord.wire import obj

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0


@dataclass
class Connection:
    rest: RestClient
    bot_id: str
    listener: Listener
    channels: Channels
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    app_id: str = ""


@register
class DiscordPlatform(Platform):
    name: ClassVar[str] = PLATFORM
    max_message_chars: int = MAX_CONTENT
    can_edit: bool = True
    # The indicator lasts 10 s: renewed before it lapses, so it does not flicker during a long run.
    typing_refresh_seconds: ClassVar[float] = 8.0
    prompt_hint: ClassVar[str] = (
        "You are chatting on Discord. Markdown is rendered (no tables: use lists); messages over 2000 "
        "characters are split."
    )

    label: ClassVar[str] = "Discord"
    summary: ClassVar[str] = "The Discord platform: a bot over REST v10 and the Gateway."
    settings: ClassVar[type[DiscordSettings]] = DiscordSettings
    env_prefix: ClassVar[str] = "DISCORD_"
    wizard = WIZARD
    troubleshooting: ClassVar[tuple[Trouble, ...]] = (
        Trouble(
            "Discord stops at start with `close 4014` / `disallowed intents`.",
            "Turn on MESSAGE CONTENT INTENT in the Developer Portal (Applications → your app → Bot → "
            "Privileged Gateway Intents) and restart; the bot cannot read messages without it.",
        ),
        Trouble(
            "Discord stops with `credentials rejected` (401 or close 4004).",
            "The token was reset or mistyped: Developer Portal → Bot → Reset Token, put it in "
            "`DISCORD_BOT_TOKEN` (without `Bot `) and restart.",
        ),
        Trouble(
            "The bot answers nobody on Discord.",
            "`DISCORD_ALLOWED_USERS` takes numeric user ids (Developer Mode → Copy User ID), not names; or "
            "set `DISCORD_ALLOW_ALL_USERS=true`.",
        ),
        Trouble(
            "The bot ignores a channel.",
            "In channels it answers when mentioned; check `DISCORD_ALLOWED_CHANNELS` (empty = any) and "
            "`DISCORD_IGNORED_CHANNELS`, or list the channel in `DISCORD_FREE_RESPONSE_CHANNELS`.",
        ),
        Trouble(
            "Slash commands do not show up in Discord.",
            "They are registered at start as global commands, which Discord may take a while to show; "
            "`!help` and the other `!` commands work meanwhile.",
        ),
    )

    def __init__(self, options: DiscordOptions) -> None:
        self.options = options
        self.conf = options.conf
        self.access = options.access
        self.max_age_seconds = options.max_age_seconds
        home = self.conf.home_channel
        self.default_home = (
            ChatRef(PLATFORM, home, "channel", self.conf.home_channel_thread_id or None) if home else None
        )
        self.connection: Connection | None = None
        self.marks = ProcessingMarks(self._react)
        self._hub: HubPort | None = None

    @classmethod
    def create(cls, config: LoadedConfig) -> DiscordPlatform:
        return cls(DiscordOptions.from_config(config))

    @classmethod
    async def check(cls, config: LoadedConfig) -> list[Check]:
        from hermes.config.errors import ConfigError

        try:
            options = DiscordOptions.from_config(config)
        except ConfigError as exc:
            return [Check(False, f"discord: {p}", "fix the setting named") for p in exc.problems]
        checks = [await probe(options.api_url, options.token, options.conf.proxy)]
        names = [u for u in options.conf.allowed_users if not u.isdigit() and u != "*"]
        if names:
            checks.append(
                Check(
                    False,
                    f"discord: DISCORD_ALLOWED_USERS has {', '.join(names)}, which are not user ids",
                    "use numeric ids (Developer Mode → right-click the name → Copy User ID)",
                    "discord.allowed_users",
                )
            )
        gateway = config.settings.gateway
        if not (
            options.access.users
            or options.access.allow_all
            or gateway.allowed_users
            or gateway.allow_all_users
        ):
            fix = "set DISCORD_ALLOWED_USERS=<your user id> (Developer Mode → your name → Copy User ID)"
            checks.append(Check(False, "discord: nobody may talk to the bot", fix))
        return checks

    def status_fields(self) -> dict[str, StatusValue]:
        connection = self.connection
        listener = connection.listener if connection is not None else None
        socket = listener.socket if listener is not None else None
        return {
            "api": self.options.api_url,
            "bot_id": connection.bot_id if connection is not None else None,
            "session": "resumable" if listener is not None and listener.session else None,
            "latency_ms": round(socket.latency * 1000, 1) if socket is not None and socket.latency else None,
            "home_channel": f"{self.conf.home_channel_name} ({self.conf.home_channel})"
            if self.conf.home_channel
            else None,
        }

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self, hub: HubPort) -> None:
        options = self.options
        rest = RestClient(options.api_url, options.token, proxy=self.conf.proxy)
        tasks: list[asyncio.Task[Any]] = []
        try:
            me = await sign_in(rest, options.api_url)
            bot_id = str(me["id"])
            gateway = await rest.request("GET", "/gateway/bot", policy=PROBE)
            channels = Channels(rest)
            policy = _policy(self.conf)
            builder = InboundBuilder(
                rest,
                bot_id,
                policy,
                channels,
                FileFetcher(rest, options.media_dir, self.conf.max_attachment_bytes),
                is_allowed=lambda user_id: hub.is_allowed(self.name, user_id),
                is_command=hub.is_command,
            )
            listener = Listener(
                token=options.token,
                rest=rest,
                gateway_url=str(gateway["url"]),
                proxy=self.conf.proxy,
                channels=channels,
                builder=builder,
                hub=hub,
                in_scope=partial(in_scope, policy),
                cursor=Cursor.parse(await hub.load_cursor(self.name)),
                max_age_seconds=self.max_age_seconds,
                backoff=Backoff(options.reconnect_min, options.reconnect_max),
                report=self._report,
                on_accepted=self._accepted,
                on_interaction=self._interaction,
                on_ready=self._ready,
            )
            connection = Connection(rest, bot_id, listener, channels)
            self.connection = connection
            self._hub = hub
            tasks.append(asyncio.create_task(listener.read_forever(), name="discord-gateway"))
            try:
                async with asyncio.timeout(START_TIMEOUT):
                    await asyncio.shield(listener.first_ready)
            except GatewayRefused as exc:
                raise await refusal(rest, exc) from None
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.connection = None
            await rest.close()
            raise
        log.info("discord: signed in as %s (%s) at %s", me.get("username"), bot_id, options.api_url)
        # Created last, with nothing awaited after it: the hub's replay of unanswered events (run as soon
        # as start returns) reads the inbox before the catch-up can add anything to it.
        consumer = asyncio.create_task(listener.consume_forever(), name="discord-consumer")
        connection.tasks = [*tasks, consumer]
        for task in connection.tasks:
            task.add_done_callback(self._task_ended)

    async def _ready(self, data: dict[str, Any]) -> None:
        connection = self._connected()
        application = obj(data.get("application"))
        connection.app_id = str(application.get("id") or "")
        if connection.app_id and not any(t.get_name() == "discord-commands" for t in connection.tasks):
            task = asyncio.create_task(self._sync_commands(connection), name="discord-commands")
            connection.tasks.append(task)

    async def _sync_commands(self, connection: Connection) -> None:
        try:
            await sync_commands(
                connection.rest, connection.app_id, command_specs(self._hub_port().command_menu())
            )
        except (DiscordError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("discord: could not register the slash commands (%s); !commands still work", exc)

    async def stop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        for task in connection.tasks:
            task.cancel()
        await asyncio.gather(*connection.tasks, return_exceptions=True)
        await self.marks.close()
        await connection.listener.close()
        await connection.rest.close()

    def _report(self, problem: str | None, *, halted: bool = False) -> None:
        self.problem = problem
        self.halted = halted

    def _task_ended(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        self.problem = f"{task.get_name()} stopped: {task.exception()!r}"
        self.halted = True
        log.error("discord: %s stopped", task.get_name(), exc_info=task.exception())

    def _hub_port(self) -> HubPort:
        if self._hub is None:
            raise ConnectionError("discord is not started")
        return self._hub

    def _connected(self) -> Connection:
        if self.connection is None:
            raise ConnectionError("discord is not started")
        return self.connection

    # -- what the listener reports ---------------------------------------------------------------------

    async def _accepted(self, built: Built, message: dict[str, Any]) -> None:
        if not (built.react and self.conf.reactions):
            return
        chat = built.inbound.chat
        self.marks.taken((chat.chat_id, chat.thread_id), str(message.get("channel_id")), str(message["id"]))

    async def _interaction(self, data: dict[str, Any]) -> None:
        connection = self._connected()
        inbound = await interaction_inbound(connection.rest, connection.channels, data)
        if inbound is None:
            return
        await self._hub_port().receive(inbound)
        await clear_placeholder(
            connection.rest, str(data.get("application_id") or connection.app_id), str(data["token"])
        )

    # -- sending ---------------------------------------------------------------------------------------

    def _outbound(self) -> Outbound:
        connection = self._connected()
        return Outbound(connection.rest, self.conf, connection.channels)

    async def send(
        self,
        chat: ChatRef,
        text: str,
        *,
        idempotency_key: str,
        attachments: Sequence[Attachment] = (),
    ) -> MessageRef:
        message_id = await self._outbound().send(chat, text, idempotency_key, attachments)
        return MessageRef(chat, message_id)

    async def edit(self, ref: MessageRef, text: str) -> None:
        await self._outbound().edit(ref.chat, ref.message_id, text)

    async def typing(self, chat: ChatRef, on: bool) -> None:
        if on:
            await self._outbound().typing(chat)
            return
        # The run in this chat is over: its messages' 👀 become ✅.
        self.marks.finished((chat.chat_id, chat.thread_id))

    async def _react(self, channel_id: str, message_id: str, emoji: str, on: bool) -> None:
        await self._outbound().react(channel_id, message_id, emoji, on)


def _policy(s: DiscordSettings) -> Policy:
    return Policy(
        require_mention=s.require_mention,
        thread_require_mention=s.thread_require_mention,
        allowed_channels=frozenset(s.allowed_channels),
        ignored_channels=frozenset(s.ignored_channels),
        free_channels=frozenset(s.free_response_channels),
        no_thread_channels=frozenset(s.no_thread_channels),
        auto_thread=s.auto_thread,
        allow_bots=s.allow_bots,
    )


__all__ = ["DiscordPlatform"]
