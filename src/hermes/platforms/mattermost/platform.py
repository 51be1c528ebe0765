"""Hermes as a Mattermost bot: the platform the gateway starts when MATTERMOST_URL and MATTERMOST_TOKEN
are set. REST API v4 for everything the bot does, the WebSocket for what it hears.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import aiohttp

from hermes.platforms.base import (
    Attachment,
    ChatRef,
    Check,
    CredentialsRejected,
    HubPort,
    MessageRef,
    Platform,
    StatusValue,
    Trouble,
    register,
)
from hermes.platforms.mattermost.addressing import BotIdentity, Policy
from hermes.platforms.mattermost.catchup import parse_cursor
from hermes.platforms.mattermost.files import FileFetcher, FileUploader, batches
from hermes.platforms.mattermost.inbound import PLATFORM, InboundBuilder, ThreadBook
from hermes.platforms.mattermost.listener import Listener
from hermes.platforms.mattermost.options import MattermostOptions
from hermes.platforms.mattermost.rest import PROBE, MattermostError, RestClient
from hermes.platforms.mattermost.settings import MattermostSettings
from hermes.platforms.mattermost.setup import WIZARD
from hermes.platforms.mattermost.websocket import AuthenticationRefused

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 10.0
_ROOT_GONE = "api.post.create_post.root_id.app_error"
# The server keeps pending post ids in one cache for all users: the bot's id in front keeps its keys apart.
_MAX_PENDING_ID = 64


@dataclass
class Connection:
    """Everything that exists while the platform is started."""

    rest: RestClient
    bot: BotIdentity
    listener: Listener
    threads: ThreadBook
    uploader: FileUploader
    task: asyncio.Task[None] | None = None


def pending_post_id(bot_id: str, idempotency_key: str) -> str:
    key = f"{bot_id}:{idempotency_key}"
    if len(key) <= _MAX_PENDING_ID:
        return key
    return f"{bot_id}:{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}"


@register
class MattermostPlatform(Platform):
    name: ClassVar[str] = PLATFORM
    max_message_chars: int = 16_383
    can_edit: bool = True
    # The web client swallows "/sethome"; a bare "sethome" after a mention must still be the command.
    bare_commands: bool = True
    prompt_hint: ClassVar[str] = (
        "You are chatting on Mattermost. Markdown is rendered; keep messages readable on a phone."
    )
    typing_refresh_seconds: ClassVar[float] = 5.0
    label: ClassVar[str] = "Mattermost"
    summary: ClassVar[str] = "The Mattermost platform: a bot account over REST API v4 and the WebSocket."
    settings: ClassVar[type[MattermostSettings]] = MattermostSettings
    env_prefix: ClassVar[str] = "MATTERMOST_"
    wizard = WIZARD
    troubleshooting: ClassVar[tuple[Trouble, ...]] = (
        Trouble(
            "The bot answers nobody in Mattermost.",
            "`MATTERMOST_ALLOWED_USERS` takes user ids (26 letters and digits, shown under your avatar → "
            "Profile), not @usernames; `hermes gateway setup` looks usernames up for you.",
        ),
        Trouble(
            "The bot sees messages in a channel but does not answer.",
            "In channels it answers only when mentioned; add the channel id to "
            "`MATTERMOST_FREE_RESPONSE_CHANNELS` or set `MATTERMOST_REQUIRE_MENTION=false`.",
        ),
        Trouble(
            "`gateway status` shows Mattermost stopped with `credentials rejected`.",
            "The token was revoked or the bot deactivated: create a new token under Integrations → "
            "Bot Accounts, put it in `MATTERMOST_TOKEN` and restart.",
        ),
    )

    def __init__(self, options: MattermostOptions) -> None:
        self.options = options
        self.access = options.access
        self.max_message_chars = options.max_message_chars
        home = options.home_channel
        self.default_home = ChatRef(PLATFORM, home, "channel") if home else None
        self.connection: Connection | None = None

    @classmethod
    def create(cls, config: LoadedConfig) -> MattermostPlatform:
        return cls(MattermostOptions.from_config(config))

    @classmethod
    async def check(cls, config: LoadedConfig) -> list[Check]:
        from hermes.config.errors import ConfigError

        try:
            options = MattermostOptions.from_config(config)
        except ConfigError as exc:
            return [Check(False, f"mattermost: {p}", "fix the setting named") for p in exc.problems]
        checks = [await _token_check(options)]
        gateway = config.settings.gateway
        access = options.access
        if not (access.users or access.allow_all or gateway.allowed_users or gateway.allow_all_users):
            fix = "set MATTERMOST_ALLOWED_USERS=<your user id>"
            checks.append(Check(False, "mattermost: nobody may talk to the bot", fix))
        return checks

    def status_fields(self) -> dict[str, StatusValue]:
        connection = self.connection
        return {
            "server": self.options.url,
            "bot": f"@{connection.bot.username}" if connection is not None else None,
            "reply_mode": "thread" if self.options.thread_replies else "off",
        }

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def connection_id(self) -> str | None:
        """The current WebSocket's connection id (a new one after every reconnect)."""
        if self.connection is None or self.connection.listener.stream is None:
            return None
        return self.connection.listener.stream.hello.connection_id

    async def start(self, hub: HubPort) -> None:
        options = self.options
        rest = RestClient(options.url, options.token)
        try:
            bot = BotIdentity.from_user(await _sign_in(rest, options))
            threads = ThreadBook(rest, bot.user_id)
            policy = Policy(options.require_mention, options.free_response_channels, options.thread_replies)
            builder = InboundBuilder(
                rest,
                bot,
                policy,
                FileFetcher(rest, options.media_dir, options.max_file_bytes),
                threads,
                is_allowed=lambda user_id: hub.is_allowed(self.name, user_id),
                is_command=hub.is_command,
            )
            listener = Listener(
                rest=rest,
                options=options,
                bot_id=bot.user_id,
                builder=builder,
                hub=hub,
                cursor=parse_cursor(await hub.load_cursor(self.name)),
                report=self._report,
            )
            try:
                stream = await listener.open_stream()
            except AuthenticationRefused:
                # The token was accepted a moment ago: ask again, so that only a refusal stops the
                # platform and anything else (a proxy cutting the socket, say) is retried.
                await _sign_in(rest, options)
                raise ConnectionError(f"{options.ws_url} closed the WebSocket while authenticating") from None
        except BaseException:
            await rest.close()
            raise
        log.info("mattermost: signed in as @%s (%s) at %s", bot.username, bot.user_id, options.url)
        connection = Connection(rest, bot, listener, threads, FileUploader(rest))
        self.connection = connection
        # Created last, with nothing awaited after it: the hub's replay of unanswered events (run as soon
        # as start returns) reads the inbox before the catch-up can add anything to it.
        connection.task = asyncio.create_task(listener.run(stream), name="mattermost-listener")
        connection.task.add_done_callback(self._listener_ended)

    async def stop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if connection.task is not None:
            connection.task.cancel()
            await asyncio.gather(connection.task, return_exceptions=True)
        if connection.listener.stream is not None:
            await connection.listener.stream.close()
        await connection.rest.close()

    def _report(self, problem: str | None, *, halted: bool = False) -> None:
        self.problem = problem
        self.halted = halted

    def _listener_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            self.problem = f"listener stopped: {task.exception()!r}"
            self.halted = True
            log.error("mattermost: the listener stopped", exc_info=task.exception())

    # -- sending ---------------------------------------------------------------------------------------

    def _connected(self) -> Connection:
        if self.connection is None:
            raise ConnectionError("mattermost is not started")
        return self.connection

    async def send(
        self,
        chat: ChatRef,
        text: str,
        *,
        idempotency_key: str,
        attachments: Sequence[Attachment] = (),
    ) -> MessageRef:
        connection = self._connected()
        file_ids: list[str] = []
        notes: list[str] = []
        if attachments:
            file_ids, notes = await connection.uploader.upload(chat.chat_id, attachments)
        message = "\n\n".join(part for part in (text, *notes) if part)
        groups = batches(file_ids) or [[]]
        first: str | None = None
        for index, group in enumerate(groups):
            key = idempotency_key if index == 0 else f"{idempotency_key}:files{index}"
            post = await self._create(connection, chat, message if index == 0 else "", key, group)
            first = first or post
        assert first is not None
        return MessageRef(chat, first)

    async def _create(
        self, connection: Connection, chat: ChatRef, message: str, key: str, file_ids: list[str]
    ) -> str:
        rest = connection.rest
        pending = pending_post_id(connection.bot.user_id, key)
        root_id = chat.thread_id or ""
        try:
            post = await rest.create_post(
                chat.chat_id, message, root_id=root_id, pending_post_id=pending, file_ids=file_ids
            )
        except MattermostError as exc:
            if not (root_id and exc.error_id == _ROOT_GONE):
                raise
            # The thread's root was deleted meanwhile: the answer still reaches the channel.
            log.warning("mattermost: thread %s is gone; replying in the channel instead", root_id)
            root_id = ""
            post = await rest.create_post(chat.chat_id, message, pending_post_id=pending, file_ids=file_ids)
        connection.threads.note_own(post)
        return str(post["id"])

    async def edit(self, ref: MessageRef, text: str) -> None:
        await self._connected().rest.patch_post(ref.message_id, text)

    async def typing(self, chat: ChatRef, on: bool) -> None:
        # Mattermost shows typing for a few seconds after each notice; there is nothing to clear.
        if on:
            await self._connected().rest.typing(chat.chat_id, chat.thread_id or "")


async def _sign_in(rest: RestClient, options: MattermostOptions) -> dict[str, object]:
    try:
        return await rest.me(PROBE)
    except MattermostError as exc:
        if exc.status == 401:
            raise CredentialsRejected(
                f"{options.url} refused MATTERMOST_TOKEN ({exc.message or 'HTTP 401'}); create a new token "
                "for the bot (Integrations → Bot Accounts) and restart"
            ) from None
        raise


async def _token_check(options: MattermostOptions) -> Check:
    rest = RestClient(options.url, options.token, timeout=CHECK_TIMEOUT)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            me = await rest.me(PROBE)
        return Check(True, f"mattermost: signed in as @{me.get('username')} at {options.url}")
    except MattermostError as exc:
        if exc.status == 401:
            return Check(False, "mattermost: the server refuses MATTERMOST_TOKEN", _NEW_TOKEN)
        return Check(False, f"mattermost: {options.url} answered HTTP {exc.status}: {exc.message}", _REACH)
    except TimeoutError:
        return Check(False, f"mattermost: {options.url} did not answer within {CHECK_TIMEOUT:.0f} s", _REACH)
    except (aiohttp.ClientError, OSError) as exc:
        return Check(False, f"mattermost: cannot reach {options.url}: {exc}", _REACH)
    finally:
        await rest.close()


_REACH = "check MATTERMOST_URL (https://your-server, no /api/v4) and the network"
_NEW_TOKEN = "create a new token for the bot (Integrations → Bot Accounts), set MATTERMOST_TOKEN and restart"
