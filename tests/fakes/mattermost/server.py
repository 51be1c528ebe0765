"""The emulator: one aiohttp app on 127.0.0.1, its state, and the test-facing API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from . import routes_channels, routes_files, routes_posts, routes_system
from .api import Api, Ctx, Reply, RequestRecord
from .errors import AppError
from .events import Broadcast, Event
from .files import FileStore
from .hub import Hub
from .model import Channel, FileInfo, Post, Reaction, Team, User
from .posts import PostStore
from .ratelimit import DEFAULT_BURST, RateLimiter
from .routes_files import MAX_FILE_SIZE
from .routes_system import execute_command
from .state import Directory
from .websocket import SocketSettings, WebSocketEndpoint


class MattermostEmulator:
    """See the package docstring for the tour."""

    def __init__(
        self,
        *,
        version: str = "9.11.2",
        build_number: str = "0",
        licensed: bool = False,
        auth_timeout: float = 5.0,
        ping_interval: float = 60.0,
        pong_wait: float = 100.0,
        collapsed_threads: bool = True,
        pending_post_ttl: float = 30.0,
    ) -> None:
        self.version = version
        self._build_number = build_number
        self._licensed = licensed
        self._config_hash = uuid.uuid4().hex
        self.hub = Hub(self._channel_member_ids, self._team_member_ids)
        self.directory = Directory(self.hub)
        self.files = FileStore(self.directory)
        self.posts = PostStore(
            self.directory,
            self.files,
            self.hub,
            collapsed_threads=collapsed_threads,
            pending_post_ttl_ms=int(pending_post_ttl * 1000),
        )
        self.limiter = RateLimiter()
        self.api = Api(self.directory, self.limiter, self.server_version)
        self.socket_settings = SocketSettings(auth_timeout, ping_interval, pong_wait)
        self._sockets = WebSocketEndpoint(self.directory, self.hub, self.socket_settings, self.server_version)
        self._tokens: dict[str, str] = {}
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = 0
        self._channel_counter = 0
        self._crashes: set[asyncio.Task[None]] = set()

    # lifecycle

    async def __aenter__(self) -> MattermostEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(middlewares=[self.api.middleware], client_max_size=MAX_FILE_SIZE)
        routes_channels.add_routes(app.router, self.api, self.directory)
        routes_posts.add_routes(app.router, self.api, self.directory, self.posts)
        routes_files.add_routes(app.router, self.api, self.directory, self.files)
        routes_system.add_routes(app.router, self.api, self.directory)
        websocket = self.api.route(self._websocket, session=False)
        app.router.add_get("/api/v4/websocket", websocket)
        app.router.add_get("/api/v4/websocket/", websocket)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await self._listen(0)

    async def stop(self) -> None:
        await asyncio.gather(*self._crashes, return_exceptions=True)
        self.hub.drop_all()
        await self.hub.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _listen(self, port: int) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", port, reuse_address=True)
        await self._site.start()
        self.port = self._runner.addresses[0][1]

    async def _websocket(self, ctx: Ctx) -> Reply:
        return await self._sockets.handle(ctx.request, ctx.user.id if ctx.user else None)

    def _channel_member_ids(self, channel_id: str) -> Iterable[str]:
        channel = self.directory.channels.get(channel_id)
        return tuple(channel.members) if channel else ()

    def _team_member_ids(self, team_id: str) -> Iterable[str]:
        return tuple(self.directory.team_members.get(team_id, ()))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v4/websocket"

    def server_version(self) -> str:
        """`<version>.<build>.<config hash>.<licensed>`: hello's server_version and X-Version-Id."""
        return f"{self.version}.{self._build_number}.{self._config_hash}.{str(self._licensed).lower()}"

    # setup

    def create_user(
        self,
        username: str,
        *,
        first_name: str = "",
        last_name: str = "",
        nickname: str = "",
        notify_props: dict[str, str] | None = None,
    ) -> User:
        """A human with a personal access token (see `token_for`)."""
        user = self.directory.create_user(
            username, first_name=first_name, last_name=last_name, nickname=nickname, notify_props=notify_props
        )
        self._tokens[user.id] = self.directory.issue_token(user)
        return user

    def create_bot(
        self, username: str, *, description: str = "", notify_props: dict[str, str] | None = None
    ) -> tuple[User, str]:
        """A bot account and its access token."""
        bot = self.directory.create_user(
            username, is_bot=True, bot_description=description, notify_props=notify_props
        )
        self._tokens[bot.id] = self.directory.issue_token(bot)
        return bot, self._tokens[bot.id]

    def issue_token(self, user: User) -> str:
        """Another personal access token for `user`, as a second host running the same bot would have."""
        return self.directory.issue_token(user)

    def token_for(self, user: User) -> str:
        return self._tokens[user.id]

    def revoke_token(self, user: User) -> None:
        """The user's token stops working, as after a revocation in the System Console."""
        self.directory.revoke_token(self._tokens[user.id])

    def create_team(self, name: str, *, display_name: str = "", members: Iterable[User] = ()) -> Team:
        team = self.directory.create_team(name, display_name)
        for user in members:
            self.directory.add_team_member(team, user)
        return team

    def create_channel(
        self,
        team: Team,
        channel_type: str = "O",
        members: Iterable[User] = (),
        *,
        name: str | None = None,
        display_name: str | None = None,
        creator: User | None = None,
    ) -> Channel:
        """An open (O) or private (P) channel; members (and the creator) join the team too."""
        members = list(members)
        creator = creator or (members[0] if members else None)
        if creator is None:
            raise ValueError("a channel needs a creator or at least one member")
        self._channel_counter += 1
        name = name or f"channel-{self._channel_counter}"
        return self.directory.create_channel(team, channel_type, name, display_name or name, members, creator)

    def direct_channel(self, a: User, b: User) -> Channel:
        return self.directory.direct_channel(a, b)[0]

    def group_channel(self, *users: User) -> Channel:
        return self.directory.group_channel(list(users), users[0])[0]

    def add_member(self, channel: Channel, user: User, *, by: User | None = None) -> Post:
        """`AddChannelMember`: `user_added`, then the system post (which mentions the added user)."""
        team = self.directory.teams.get(channel.team_id)
        if team is not None:
            self.directory.add_team_member(team, user)
        self.directory.join(channel, user)
        data = {"team_id": channel.team_id, "user_id": user.id}
        self.hub.publish(Event("user_added", data, Broadcast(channel_id=channel.id)))
        if by is None or by.id == user.id:
            return self.posts.store_system_post(
                user,
                channel,
                f"{user.username} joined the channel.",
                "system_join_channel",
                {"username": user.username},
            )
        props = {
            "userId": by.id,
            "username": by.username,
            "addedUserId": user.id,
            "addedUsername": user.username,
        }
        message = f"{user.username} added to the channel by {by.username}."
        return self.posts.store_system_post(by, channel, message, "system_add_to_channel", props)

    def remove_member(self, channel: Channel, user: User, *, by: User | None = None) -> Post:
        """`RemoveUserFromChannel`: the member goes, both sides hear `user_removed`, a system post follows."""
        remover = by or user
        channel.members.pop(user.id, None)
        data = {"remover_id": remover.id, "user_id": user.id}
        self.hub.publish(Event("user_removed", data, Broadcast(channel_id=channel.id)))
        self_data = {"channel_id": channel.id, "remover_id": remover.id}
        self.hub.publish(Event("user_removed", self_data, Broadcast(user_id=user.id)))
        if remover.id == user.id:
            message, post_type = f"{user.username} left the channel.", "system_leave_channel"
            props: dict[str, Any] = {"username": user.username}
        else:
            message, post_type = f"{user.username} removed from the channel.", "system_remove_from_channel"
            props = {"removedUserId": user.id, "removedUsername": user.username}
        return self.posts.store_system_post(remover, channel, message, post_type, props)

    def set_status(self, user: User, status: str) -> None:
        """online, away, dnd or offline; `@here` only reaches members who are online."""
        self.directory.set_status(user.id, status)

    # what humans do, through the same code paths as the REST handlers

    async def post_as(
        self,
        user: User,
        channel: Channel,
        text: str,
        *,
        root_id: str | None = None,
        file_ids: Iterable[str] = (),
        props: dict[str, Any] | None = None,
        pending_post_id: str = "",
    ) -> Post:
        return self.posts.create(
            user,
            channel.id,
            text,
            root_id=root_id or "",
            file_ids=file_ids,
            props=props,
            pending_post_id=pending_post_id,
        )

    async def edit_as(self, user: User, post: Post, message: str) -> Post:
        return self.posts.patch(user, post.id, {"message": message})

    async def delete_as(self, user: User, post: Post) -> Post:
        return self.posts.delete(user, post.id)

    async def react_as(self, user: User, post: Post, emoji_name: str) -> Reaction:
        return self.posts.react(user, user.id, post.id, emoji_name)

    async def upload_as(self, user: User, channel: Channel, name: str, data: bytes) -> FileInfo:
        return self.files.upload(user, channel.id, name, data)

    async def typing_as(self, user: User, channel: Channel, parent_id: str = "") -> None:
        self.directory.publish_typing(user.id, channel, parent_id)

    async def webapp_send(
        self, user: User, channel: Channel, text: str, *, root_id: str | None = None
    ) -> Post | None:
        """What the webapp does on Enter: a leading "/" goes to /commands/execute first; a built-in
        consumes it (None), an unknown trigger is a 404 after which the user's second Enter posts it."""
        if text.startswith("/"):
            body = {
                "command": text,
                "channel_id": channel.id,
                "team_id": channel.team_id,
                "root_id": root_id or "",
            }
            try:
                execute_command(self.directory, user.id, body)
                return None
            except AppError as error:
                if error.status != 404:
                    raise
        return await self.post_as(user, channel, text, root_id=root_id)

    # looking

    def posts_in(self, channel: Channel) -> list[Post]:
        """Live posts of a channel, oldest first (edit history and deleted posts left out)."""
        return [p for pid in self.posts.by_channel[channel.id] if (p := self.posts.posts[pid]).delete_at == 0]

    def get_post(self, post_id: str) -> Post:
        return self.posts.posts[post_id]

    def post_json(self, post: Post) -> dict[str, Any]:
        return self.posts.wire(post)

    def reactions_on(self, post: Post) -> list[Reaction]:
        return list(self.posts.reactions.get(post.id, {}).values())

    @property
    def requests(self) -> list[RequestRecord]:
        return self.api.records

    @property
    def events(self) -> list[Event]:
        """Every event published, whoever was connected; `mentions`/`followers` as computed for `posted`."""
        return self.hub.published

    async def wait_for_post(self, predicate: Callable[[Post], bool], timeout: float = 5.0) -> Post:
        """The oldest live post matching, or the next one created or edited to match."""
        return await asyncio.wait_for(self.posts.wait_for(predicate), timeout)

    def sockets_of(self, user: User) -> int:
        return self.hub.sockets_of(user.id)

    async def wait_for_sockets(self, user: User, count: int = 1, timeout: float = 5.0) -> None:
        """Until `user` has exactly `count` authenticated WebSocket connections."""
        changed = self.hub.on_change = self.hub.on_change or asyncio.Event()
        async with asyncio.timeout(timeout):
            while self.hub.sockets_of(user.id) != count:
                changed.clear()
                await changed.wait()

    def publish_raw(
        self, event: str, data: dict[str, Any], *, user: User | None = None, channel: Channel | None = None
    ) -> None:
        """Push any event (status_change, channel_viewed, ...) to test a client's tolerance."""
        broadcast = Broadcast(user_id=user.id if user else "", channel_id=channel.id if channel else "")
        self.hub.publish(Event(event, data, broadcast))

    # faults

    def drop_sockets(self) -> None:
        """Cut every WebSocket connection at the TCP level, no close frame; state and REST stay up."""
        self.hub.drop_all()

    async def restart(self, *, downtime: float = 0.0, version: str | None = None) -> None:
        """A server restart: sockets and keep-alive connections cut, port closed for `downtime` seconds,
        in-memory caches (rate limiter, pending post ids) lost, a new config hash in `hello`; data kept."""
        assert self._runner is not None and self._site is not None
        port = self.port
        await self._site.stop()
        self.hub.drop_all()
        await self.hub.wait_closed()
        server = self._runner.server
        for connection in list(server.connections if server else ()):
            connection.force_close()
        self.version = version or self.version
        self._config_hash = uuid.uuid4().hex
        self.posts.forget_pending()
        self.limiter.reset()
        if downtime:
            await asyncio.sleep(downtime)
        await self._listen(port)

    def restart_during_next(self, method: str, path: str, *, downtime: float = 0.0) -> None:
        """The next `method path` request is carried out, then the server restarts (see `restart`) before
        it answers: the client cannot tell whether its change happened, as when a server dies mid-request."""

        def crash() -> None:
            task = asyncio.get_running_loop().create_task(self.restart(downtime=downtime))
            self._crashes.add(task)
            task.add_done_callback(self._crashes.discard)

        self.api.crash_after = (method, path, crash)

    def force_429(self, count: int, path_prefix: str = "/") -> None:
        """The next `count` requests under `path_prefix` get the limiter's 429, whatever the quota."""
        self.limiter.force(count, path_prefix)

    def rate_limit(self, per_second: int | None, burst: int = DEFAULT_BURST) -> None:
        """Turn the server's limiter on (RateLimitSettings.Enable) or off with None."""
        self.limiter.configure(per_second, burst)
