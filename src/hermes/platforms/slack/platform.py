"""Hermes as a Slack app in Socket Mode: the platform the gateway starts when SLACK_BOT_TOKEN is set.
The Web API (bot token) for everything the bot does, a Socket Mode WebSocket (app token) for what it hears.

slack_sdk is imported when the platform starts, not when it registers: commands that only list the
platforms stay fast.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from hermes.platforms.base import (
    Attachment,
    ChatRef,
    Check,
    HubPort,
    Inbound,
    MessageRef,
    Platform,
    StatusValue,
    Trouble,
    register,
)
from hermes.platforms.slack.addressing import PLATFORM, Bot, Policy
from hermes.platforms.slack.options import SlackOptions
from hermes.platforms.slack.settings import SlackSettings
from hermes.platforms.slack.setup import WIZARD

if TYPE_CHECKING:
    from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient

    from hermes.config import LoadedConfig
    from hermes.platforms.slack.listener import Listener
    from hermes.platforms.slack.outbound import Outbound
    from hermes.platforms.slack.socket import SocketClient
    from hermes.platforms.slack.web import SlackWeb

log = logging.getLogger(__name__)
# slack_sdk logs every frame and request body at DEBUG: too much for `-v`, and message text besides.
logging.getLogger("slack_sdk").setLevel(logging.INFO)


@dataclass
class Connection:
    """Everything that exists while the platform is started."""

    web: SlackWeb
    bot: Bot
    team: str
    client: SocketClient
    listener: Listener
    outbound: Outbound
    worker: asyncio.Task[None] | None = None
    # Messages marked 👀 while a run goes on, by chat: swapped for ✅ when the run ends.
    pending_reactions: dict[tuple[str, str | None], list[str]] = field(default_factory=dict)


@register
class SlackPlatform(Platform):
    name: ClassVar[str] = PLATFORM
    label: ClassVar[str] = "Slack"
    summary: ClassVar[str] = "The Slack platform: a Slack app in Socket Mode (no public endpoint needed)."
    settings: ClassVar[type[SlackSettings]] = SlackSettings
    env_prefix: ClassVar[str] = "SLACK_"
    wizard = WIZARD
    # chat.update refuses text over 4,000 characters (msg_too_long), and streamed replies are edited:
    # chunks stay under it with room for the entities mrkdwn escaping adds.
    max_message_chars: int = 3_500
    can_edit: bool = True
    prompt_hint: ClassVar[str] = (
        "You are chatting on Slack. Markdown is converted to Slack's mrkdwn; tables show as monospace "
        "text. Keep messages readable on a phone."
    )
    troubleshooting: ClassVar[tuple[Trouble, ...]] = (
        Trouble(
            "Slack stops at start with `SLACK_APP_TOKEN` refused, or never connects.",
            "Socket Mode must be on (app settings → Socket Mode) and `SLACK_APP_TOKEN` must be an "
            "app-level token (`xapp-…`, Basic Information → App-Level Tokens) with `connections:write`.",
        ),
        Trouble(
            "`hermes doctor` says the bot lacks scopes, or the bot hears nothing.",
            "Add the scopes named (OAuth & Permissions → Bot Token Scopes), subscribe to the bot events "
            "`message.im`, `message.channels`, `message.groups`, `message.mpim`, `app_mention` and "
            "`reaction_added` (Event Subscriptions), then reinstall the app: new scopes need a reinstall.",
        ),
        Trouble(
            "The bot answers nobody on Slack.",
            "`SLACK_ALLOWED_USERS` takes member ids (`U…`: profile → ⋮ → Copy member ID), not names.",
        ),
        Trouble(
            "The bot does not answer in a channel.",
            "Invite it (`/invite @bot`) and @mention it, or list the channel in "
            "`SLACK_FREE_RESPONSE_CHANNELS`; with `SLACK_ALLOWED_CHANNELS` set, only those channels count.",
        ),
        Trouble(
            "`/hermes` says the app did not respond, or is not a valid command.",
            "Declare the `/hermes` slash command in the app (Slash Commands) and reinstall; in Socket Mode "
            "it needs no request URL. `!new`, `!help`… work as plain messages too.",
        ),
    )

    def __init__(self, options: SlackOptions) -> None:
        self.options = options
        self.access = options.access
        home = options.home_channel
        self.default_home = (
            ChatRef(PLATFORM, home, "dm" if home.startswith("D") else "channel") if home else None
        )
        self.connection: Connection | None = None

    @classmethod
    def create(cls, config: LoadedConfig) -> SlackPlatform:
        return cls(SlackOptions.from_config(config))

    @classmethod
    async def check(cls, config: LoadedConfig) -> list[Check]:
        from hermes.platforms.slack.checks import live_checks

        return await live_checks(config)

    def status_fields(self) -> Mapping[str, StatusValue]:
        connection = self.connection
        home = self.options.home_channel
        return {
            "bot": f"<@{connection.bot.user_id}>" if connection is not None else None,
            "workspace": connection.team if connection is not None else None,
            "home_channel": f"{home} ({self.options.home_channel_name})"
            if home and self.options.home_channel_name
            else home,
            "api_url": self.options.api_url,
        }

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self, hub: HubPort) -> None:
        from hermes.platforms.slack.catchup import Cursor
        from hermes.platforms.slack.connect import sign_in, socket_url
        from hermes.platforms.slack.inbound import InboundBuilder, ThreadBook
        from hermes.platforms.slack.listener import Listener
        from hermes.platforms.slack.outbound import Outbound
        from hermes.platforms.slack.socket import SocketClient
        from hermes.platforms.slack.web import SlackWeb

        options = self.options
        web = SlackWeb(options.bot_token, options.api_url)
        try:
            bot, team = await sign_in(web)
            url = await socket_url(web, options.app_token)
            policy = Policy(
                require_mention=options.require_mention,
                strict_mention=options.strict_mention,
                free_channels=options.free_response_channels,
                allowed_channels=options.allowed_channels,
                allow_bots=options.allow_bots,
                patterns=options.mention_patterns,
            )
            threads = ThreadBook(web, bot)
            builder = InboundBuilder(
                web, bot, policy, threads, options.media_dir, lambda user: hub.is_allowed(self.name, user)
            )
            outbound = Outbound(web, threads, bot.user_id)
            listener = Listener(
                web=web,
                bot=bot,
                policy=policy,
                builder=builder,
                hub=hub,
                cursor=Cursor.decode(await hub.load_cursor(self.name)),
                on_addressed=self._on_addressed,
                on_slash=outbound.remember_response_url,
                chat_of=outbound.chat_of,
            )
            outbound.is_fresh = listener.is_fresh
            client = SocketClient(
                app_token=options.app_token,
                web_client=web.client,
                ping_interval=options.ping_interval,
                on_refused=self._refused,
            )
            client.wss_uri = url
            client.message_listeners.append(self._on_frame)
            client.message_listeners.append(listener.on_message)
            client.socket_mode_request_listeners.append(listener.on_request)
            await client.open()
        except BaseException:
            await web.close()
            raise
        log.info("slack: connected as <@%s> (bot %s) through %s", bot.user_id, bot.bot_id, options.api_url)
        connection = Connection(web, bot, team, client, listener, outbound)
        self.connection = connection
        # Created last, with nothing awaited after it: the hub's replay of unanswered events (run as soon
        # as start returns) reads the inbox before the catch-up can add anything to it.
        connection.worker = asyncio.create_task(listener.run(), name="slack-listener")

    async def stop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if connection.worker is not None:
            connection.worker.cancel()
            await asyncio.gather(connection.worker, return_exceptions=True)
        await connection.client.shut()
        await connection.web.close()

    async def _on_frame(
        self, client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
    ) -> None:
        """The connection's state for `gateway status`: a `disconnect` notice means slack_sdk is getting a
        new socket; the next `hello` means it has one."""
        if self.halted:
            return
        if message.get("type") == "disconnect":
            self.problem = f"reconnecting (Slack asked: {message.get('reason', '?')})"
        elif message.get("type") == "hello":
            self.problem = None

    def _refused(self, code: str) -> None:
        self.problem = f"credentials rejected: Slack answered {code} for SLACK_APP_TOKEN"
        self.halted = True
        log.error(
            "slack: Slack refuses the app token (%s); Slack is stopped until restart — create a new "
            "app-level token (connections:write), set SLACK_APP_TOKEN and restart the gateway",
            code,
        )

    # -- reactions -------------------------------------------------------------------------------------

    async def _on_addressed(self, inbound: Inbound, mentioned: bool) -> None:
        """👀 on a message the bot is about to answer: 1:1 DMs and explicit mentions (SLACK_REACTIONS)."""
        connection = self.connection
        if connection is None or not self.options.reactions or inbound.text.startswith(("/", "!")):
            return
        if not connection.listener.hub.is_allowed(self.name, inbound.sender_id):
            return
        if inbound.chat.kind != "dm" and not mentioned:
            return
        channel, _, ts = inbound.event_id.rpartition(":")
        if await connection.outbound.react(channel, ts, "eyes", add=True):
            key = (inbound.chat.chat_id, inbound.chat.thread_id)
            connection.pending_reactions.setdefault(key, []).append(ts)

    async def typing(self, chat: ChatRef, on: bool) -> None:
        # Slack shows no typing indicator for apps outside assistant threads; the end of a run is where the
        # 👀 reactions turn into ✅.
        connection = self.connection
        if on or connection is None:
            return
        for ts in connection.pending_reactions.pop((chat.chat_id, chat.thread_id), []):
            await connection.outbound.react(chat.chat_id, ts, "eyes", add=False)
            await connection.outbound.react(chat.chat_id, ts, "white_check_mark", add=True)

    # -- sending ---------------------------------------------------------------------------------------

    def _connected(self) -> Connection:
        if self.connection is None:
            raise ConnectionError("slack is not started")
        return self.connection

    async def send(
        self,
        chat: ChatRef,
        text: str,
        *,
        idempotency_key: str,
        attachments: Sequence[Attachment] = (),
    ) -> MessageRef:
        return await self._connected().outbound.send(chat, text, idempotency_key, attachments)

    async def edit(self, ref: MessageRef, text: str) -> None:
        await self._connected().outbound.edit(ref, text)
