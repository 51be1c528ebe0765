"""The emulator: one aiohttp app on 127.0.0.1 with the Web API, Socket Mode, file upload/download URLs and
`response_url`s, plus the test-facing API for what humans do."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.harness.synapse_server import free_port

from .model import APP_ID, TEAM_ID, Conversation, File, Message, User, new_id
from .ratelimit import RateLimits
from .socket import Delivery, SocketMode, SocketSettings
from .webapi import RequestRecord, WebApi
from .workspace import SlackError, Workspace

RESPONSE_URL_USES = 5
_LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


@dataclass
class Interaction:
    """A slash command or a button click sent to the app, and the answers it gave."""

    delivery: Delivery | None
    response_url: str
    responses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ack_payload(self) -> dict[str, Any] | None:
        return self.delivery.ack.payload if self.delivery and self.delivery.ack else None

    async def acked(self, timeout: float = 3.0) -> dict[str, Any] | None:
        assert self.delivery is not None, "no socket was open: Slack showed the user dispatch_failed"
        await asyncio.wait_for(self.delivery.acked.wait(), timeout)
        return self.ack_payload


class SlackEmulator:
    """See the package docstring for the tour."""

    def __init__(
        self,
        *,
        bot_name: str = "hermes",
        ack_timeout: float = 3.0,
        retry_delays: tuple[float, ...] = (0.0, 60.0, 300.0),
    ) -> None:
        self.socket = SocketMode(SocketSettings(ack_timeout=ack_timeout, retry_delays=retry_delays))
        self.workspace = Workspace(self.socket, bot_name)
        self.limits = RateLimits()
        self.api = WebApi(self.workspace, self.limits)
        self.port = free_port()
        self.root_url = f"http://127.0.0.1:{self.port}/"
        self.workspace.root_url = self.root_url
        self._interactions: dict[str, Interaction] = {}
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL points at (Slack's is https://slack.com/api/)."""
        return self.root_url + "api/"

    @property
    def bot(self) -> User:
        return self.workspace.bot

    @property
    def bot_token(self) -> str:
        return self.workspace.bot_token

    @property
    def app_token(self) -> str:
        return self.workspace.app_token

    async def __aenter__(self) -> SlackEmulator:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self.api.handle)
        app.router.add_get("/link/", self.socket.handle)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{team_file}/{name}", self._download)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._download)
        app.router.add_post("/response/{id}", self._response)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.socket.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- setup -----------------------------------------------------------------------------------------

    def add_user(self, name: str) -> User:
        return self.workspace.add_user(name)

    def add_bot_user(self, name: str) -> User:
        """Another app's bot, whose posts carry its own `bot_id`."""
        return self.workspace.add_user(name, is_bot=True, bot_id=new_id("B"))

    def add_channel(self, name: str, members: Iterable[User], *, private: bool = False) -> Conversation:
        return self.workspace.add_channel(name, members, private=private)

    def dm(self, user: User) -> Conversation:
        return self.workspace.dm(user)

    def user_token(self, user: User) -> str:
        return self.workspace.user_token(user)

    def set_scopes(self, scopes: Iterable[str]) -> None:
        self.workspace.scopes = set(scopes)

    def revoke_tokens(self) -> None:
        """The app is uninstalled: every token stops working (`invalid_auth`)."""
        self.workspace.tokens.clear()

    # -- what humans do --------------------------------------------------------------------------------

    async def post(
        self,
        user: User,
        conv: Conversation,
        text: str,
        *,
        thread_ts: str | None = None,
        files: Iterable[File] = (),
    ) -> Message:
        return await self.workspace.post(user, conv, text, thread_ts=thread_ts, files=[f.id for f in files])

    def upload(self, user: User, name: str, data: bytes, mimetype: str) -> File:
        file = File(new_id("F"), name, mimetype, data, user.id, completed=True)
        self.workspace.files[file.id] = file
        return file

    async def slash(self, user: User, conv: Conversation, command: str, text: str = "") -> Interaction:
        interaction = self._interaction()
        payload = {
            "token": "emulated-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "emulated",
            "channel_id": conv.id,
            "channel_name": "directmessage" if conv.kind == "im" else conv.name,
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": interaction.response_url,
            "trigger_id": uuid.uuid4().hex,
        }
        interaction.delivery = await self.socket.deliver("slash_commands", payload)
        return interaction

    async def click(self, user: User, message: Message, action_id: str, value: str) -> Interaction:
        """A button in one of the app's messages, pressed (a `block_actions` interaction)."""
        interaction = self._interaction()
        block_id = next(
            (
                str(b.get("block_id"))
                for b in message.blocks or []
                if any(e.get("action_id") == action_id for e in b.get("elements") or [])
            ),
            "",
        )
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "emulated"},
            "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "emulated-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
                **({"thread_ts": message.thread_ts} if message.thread_ts else {}),
            },
            "trigger_id": uuid.uuid4().hex,
            "channel": {"id": message.channel, "name": self.workspace.conversations[message.channel].name},
            "message": self.workspace.message_json(message),
            "response_url": interaction.response_url,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "type": "button",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        interaction.delivery = await self.socket.deliver("interactive", payload)
        return interaction

    def _interaction(self) -> Interaction:
        key = uuid.uuid4().hex
        interaction = Interaction(None, f"{self.root_url}response/{key}")
        self._interactions[key] = interaction
        return interaction

    # -- looking ---------------------------------------------------------------------------------------

    def messages(self, conv: Conversation) -> list[Message]:
        return list(conv.messages.values())

    def bot_messages(self, conv: Conversation) -> list[Message]:
        return [m for m in conv.messages.values() if m.user == self.bot.id]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError("the awaited state never came")
            await asyncio.sleep(0.01)

    async def wait_for_message(
        self, conv: Conversation, match: Callable[[Message], bool] = lambda m: True, timeout: float = 5.0
    ) -> Message:
        def found() -> Message | None:
            return next((m for m in conv.messages.values() if m.user == self.bot.id and match(m)), None)

        return await self.wait_for(found, timeout)

    async def wait_for_connections(self, count: int, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: len(self.socket.open_connections()) >= count, timeout)

    @property
    def requests(self) -> list[RequestRecord]:
        return self.api.requests

    def calls(self, method: str) -> list[RequestRecord]:
        return [r for r in self.api.requests if r.method == method]

    # -- faults ----------------------------------------------------------------------------------------

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        await self.socket.disconnect(reason)

    def drop_connections(self) -> None:
        self.socket.drop_all()

    # -- URLs outside the Web API ----------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        file = self.workspace.files.get(request.match_info["file_id"])
        if file is None or file.completed:
            return web.Response(status=404, text="not found")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = next(iter(form.values()), None)
            data = part.file.read() if hasattr(part, "file") else str(part or "").encode()
        else:
            data = await request.read()
        file.data = data
        return web.Response(text=f"OK - {len(data)}")

    async def _download(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        token = (
            self.workspace.tokens.get(header[7:].strip()) if header.lower().startswith("bearer ") else None
        )
        file_id = request.match_info["team_file"].rsplit("-", 1)[-1]
        file = self.workspace.files.get(file_id)
        if token is None or token.kind == "app":
            # The real service answers a missing or wrong token with its sign-in page, status 200.
            return web.Response(text=_LOGIN_PAGE, content_type="text/html")
        if file is None:
            return web.Response(status=404, text="file not found")
        return web.Response(body=file.data, content_type=file.mimetype)

    async def _response(self, request: web.Request) -> web.Response:
        interaction = self._interactions.get(request.match_info["id"])
        if interaction is None:
            return web.Response(status=404, text="no_such_url")
        if len(interaction.responses) >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        interaction.responses.append(body)
        return web.Response(text="ok")


__all__ = ["SlackEmulator", "SlackError"]
