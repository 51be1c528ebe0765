"""The emulator: one aiohttp app on 127.0.0.1 (REST under /api/v10, the Gateway at /, attachments under
/attachments), its state, and the test-facing API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .errors import DiscordError
from .gateway import GatewayEndpoint
from .model import GATEWAY_MESSAGE_CONTENT, Channel, Guild, Message, User
from .ratelimit import RateLimiter
from .rest import Rest
from .state import App, Interaction, World

MAX_REQUEST = 25 * 1024 * 1024


class DiscordEmulator:
    """See the package docstring for the tour."""

    def __init__(self, *, heartbeat_interval_ms: int = 41_250) -> None:
        self.world = World(self._publish)
        self.limiter = RateLimiter()
        self.gateway = GatewayEndpoint(self.world, lambda: self.gateway_url, heartbeat_interval_ms)
        self.rest = Rest(self.world, self.limiter, lambda: self.gateway_url)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._watchers: list[tuple[Callable[[Message], bool], asyncio.Future[Message]]] = []

    def _publish(self, event: str, data: dict[str, Any], channel: Channel) -> None:
        self.gateway.publish(event, data, channel)
        if event == "MESSAGE_CREATE":
            message = self.world.messages[data["message"]]
            waiting = []
            for predicate, future in self._watchers:
                if not future.done() and predicate(message):
                    future.set_result(message)
                elif not future.done():
                    waiting.append((predicate, future))
            self._watchers = waiting

    def watch(self, predicate: Callable[[Message], bool]) -> asyncio.Future[Message]:
        """Resolved the moment a matching message is created (for benchmarks: no polling delay)."""
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._watchers.append((predicate, future))
        return future

    # -- lifecycle -------------------------------------------------------------------------------------

    async def __aenter__(self) -> DiscordEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_REQUEST)
        self.rest.add_routes(app.router)
        app.router.add_get("/", self.gateway.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.world.cdn_base = f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self.gateway.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The REST base, as DISCORD_API_URL takes it."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # -- setup -----------------------------------------------------------------------------------------

    def create_bot(self, username: str, *, flags: int = GATEWAY_MESSAGE_CONTENT) -> tuple[User, str]:
        """The bot user and its application; `flags` are the portal's privileged-intent switches."""
        bot = self.world.create_user(username, bot=True)
        self.world.bot = bot
        self.world.app = App(self.world.mint(), username, flags)
        return bot, bot.token

    @property
    def app(self) -> App:
        assert self.world.app is not None
        return self.world.app

    def create_user(self, username: str) -> User:
        return self.world.create_user(username)

    def create_guild(self, name: str, members: list[User]) -> Guild:
        return self.world.create_guild(name, members[0], members)

    def create_channel(self, guild: Guild, name: str, type_: int = 0) -> Channel:
        return self.world.create_channel(guild, name, type_)

    def add_role(self, guild: Guild, name: str, members: list[User]) -> str:
        role = self.world.mint()
        guild.roles[role] = name
        for member in members:
            guild.members[member.id].append(role)
        return role

    def dm_channel(self, user: User) -> Channel:
        assert self.world.bot is not None
        return self.world.dm_channel(user, self.world.bot)

    # -- humans act through the same code as the REST handlers ----------------------------------------

    async def post_as(
        self,
        user: User,
        channel: Channel,
        content: str,
        *,
        reply_to: Message | None = None,
        files: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
        allowed_mentions: dict[str, Any] | None = None,
    ) -> Message:
        body: dict[str, Any] = {"content": content}
        if reply_to is not None:
            body["message_reference"] = {"message_id": reply_to.id}
        if allowed_mentions is not None:
            body["allowed_mentions"] = allowed_mentions
        message, _ = self.world.create_message(user, channel.id, body, list(files))
        await asyncio.sleep(0)
        return message

    async def edit_as(self, user: User, message: Message, content: str) -> Message:
        return self.world.edit_message(user, message.channel_id, message.id, {"content": content})

    async def react_as(self, user: User, message: Message, emoji: str) -> None:
        self.world.react(user, message.channel_id, message.id, emoji, True)

    async def start_thread_as(self, user: User, message: Message, name: str) -> Channel:
        return self.world.start_thread(user, message.channel_id, message.id, name)

    async def interact_as(
        self, user: User, channel: Channel, name: str, options: list[dict[str, Any]] | None = None
    ) -> Interaction:
        """A user runs a registered slash command (raises if the bot never registered it)."""
        return self.world.create_interaction(user, channel, name, options or [])

    # -- looking ---------------------------------------------------------------------------------------

    def messages_in(self, channel: Channel) -> list[Message]:
        return self.world.history(channel)

    def get_message(self, message_id: str) -> Message:
        return self.world.messages[message_id]

    def channel(self, channel_id: str) -> Channel:
        return self.world.channels[channel_id]

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 5.0) -> Any:
        async with asyncio.timeout(timeout):
            while not (found := condition()):
                await asyncio.sleep(0.01)
        return found

    async def wait_for_message(self, predicate: Callable[[Message], bool], timeout: float = 5.0) -> Message:
        def find() -> Message | None:
            return next((m for m in self.world.messages.values() if not m.deleted and predicate(m)), None)

        result: Message = await self.wait_for(find, timeout)
        return result

    # -- faults ----------------------------------------------------------------------------------------

    def drop_gateway(self) -> None:
        """Cut every Gateway socket (no close frame); the sessions stay resumable."""
        self.gateway.drop_all()

    def forget_sessions(self) -> None:
        self.gateway.forget_sessions()

    async def gateway_reconnect(self) -> None:
        await self.gateway.send_reconnect()

    async def invalidate_sessions(self, resumable: bool) -> None:
        await self.gateway.invalidate(resumable)

    async def close_gateway(self, code: int, message: str = "") -> None:
        await self.gateway.close_all(code, message)

    def refuse(self, method: str, path_prefix: str, error: DiscordError) -> None:
        """The next matching request (path under /api/v10) gets `error`, e.g. 50013 Missing Permissions."""
        self.rest.refusals.append((method, path_prefix, error))

    def force_429(
        self, count: int = 1, *, path_prefix: str = "", global_: bool = False, retry_after: float = 0.3
    ):
        self.limiter.force_429(count, path_prefix=path_prefix, global_=global_, retry_after=retry_after)
