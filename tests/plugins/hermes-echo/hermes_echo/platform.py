"""The echo platform's adapter."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web

from hermes.platforms.base import (
    AccessList,
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
from hermes_echo.settings import EchoSettings
from hermes_echo.setup import WIZARD, check_token

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

log = logging.getLogger(__name__)


@register
class EchoPlatform(Platform):
    name: ClassVar[str] = "echo"
    max_message_chars: ClassVar[int] = 2000
    can_edit: ClassVar[bool] = False
    label: ClassVar[str] = "Echo"
    summary: ClassVar[str] = "The echo example platform (an out-of-tree package)."
    settings: ClassVar[type[EchoSettings]] = EchoSettings
    env_prefix: ClassVar[str] = "ECHO_"
    wizard = WIZARD
    troubleshooting: ClassVar[tuple[Trouble, ...]] = (
        Trouble("Posts get 401.", "Send `Authorization: Bearer <ECHO_TOKEN>`."),
    )

    def __init__(self, settings: EchoSettings) -> None:
        self.options = settings
        self.access = AccessList(frozenset(settings.allowed_users))
        self.sent: list[dict[str, str]] = []
        self.received = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    @classmethod
    def create(cls, config: LoadedConfig) -> EchoPlatform:
        return cls(config.section(EchoSettings))

    @classmethod
    async def check(cls, config: LoadedConfig) -> list[Check]:
        settings = config.section(EchoSettings)
        verdict = check_token(settings.token or "")
        return [Check(verdict.ok, f"echo: {verdict.label}", verdict.fix)]

    def status_fields(self) -> dict[str, StatusValue]:
        return {"port": self.options.port, "received": self.received}

    async def start(self, hub: HubPort) -> None:
        app = web.Application()
        app["hub"] = hub
        app.router.add_post("/messages", self._post)
        app.router.add_get("/sent", self._sent)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, self.options.host, self.options.port).start()
        self._runner = runner
        # Deliberately logs the secret: the gateway's redaction must hide it (the test reads the log).
        log.info("echo: listening on port %s, token %s", self.options.port, self.options.token)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.options.token}"

    async def _post(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "bad token"}, status=401)
        body: dict[str, Any] = await request.json()
        user = str(body["user"])
        self.received += 1
        inbound = Inbound(
            event_id=f"echo-{self.received}-{time.time_ns()}",
            chat=ChatRef(self.name, f"dm-{user}", "dm"),
            sender_id=user,
            sender_name=user,
            text=str(body["text"]),
            addressed=True,
            sent_at=time.time(),
        )
        await request.app["hub"].receive(inbound)
        return web.json_response({"accepted": inbound.event_id}, status=202)

    async def _sent(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "bad token"}, status=401)
        return web.json_response(self.sent)

    async def send(
        self, chat: ChatRef, text: str, *, idempotency_key: str, attachments: Sequence[Attachment] = ()
    ) -> MessageRef:
        message_id = f"m{next(self._ids)}"
        self.sent.append({"chat": chat.chat_id, "text": text, "id": message_id})
        return MessageRef(chat, message_id)
