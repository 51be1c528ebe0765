"""The dashboard's Chat page, served by the running gateway over its control socket.

`{"request": "chat", "session": ID, "text": ...}` runs one turn of the session `dashboard:<ID>` through the
hub's request runs (the same agent, tools and shutdown rules as every platform) and streams its events back.
A tool that needs approval asks through the stream (`{"type": "approval", "id": ...}`); the page answers
with `{"request": "approve", "id": ..., "approve": true|false}` on another connection. No answer within the
tool's wait is a no, as on every platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any

from hermes.agent.contract import Failed, Final, Origin, RunRequest, TextDelta, ToolFinished, ToolStarted
from hermes.gateway.approvals import send_to_target

if TYPE_CHECKING:
    from hermes.gateway.hub import Hub
    from hermes.gateway.runner import Gateway

PLATFORM = "dashboard"
_SESSION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HINT = "You are talking with the operator on the gateway's web dashboard; Markdown is shown as written."
MAX_TEXT_CHARS = 32_000

_Event = Mapping[str, Any]


class _Services:
    """`GatewayServices` for one dashboard run: approvals go to the page through the run's own stream."""

    def __init__(self, hub: Hub, chat: DashboardChat, events: asyncio.Queue[_Event | None]) -> None:
        self.hub = hub
        self.chat = chat
        self.events = events

    async def request_approval(self, origin: Origin, prompt: str, wait_seconds: float) -> bool:
        approval_id = secrets.token_hex(8)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.chat.pending[approval_id] = future
        await self.events.put(
            {"type": "approval", "id": approval_id, "prompt": prompt, "wait_seconds": wait_seconds}
        )
        try:
            return await asyncio.wait_for(future, wait_seconds)
        except TimeoutError:
            return False
        finally:
            self.chat.pending.pop(approval_id, None)

    async def send_message(self, target: str, text: str) -> str:
        return await send_to_target(self.hub, target, text)


class DashboardChat:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.pending: dict[str, asyncio.Future[bool]] = {}

    def streams(self) -> dict[str, Any]:
        return {"chat": self.chat, "approve": self.approve}

    async def approve(self, message: Mapping[str, Any]) -> AsyncGenerator[_Event, None]:
        future = self.pending.get(str(message.get("id")))
        answered = future is not None and not future.done()
        if future is not None and answered:
            future.set_result(message.get("approve") is True)
        yield {"type": "approved" if answered else "unknown_approval"}

    async def chat(self, message: Mapping[str, Any]) -> AsyncGenerator[_Event, None]:
        hub = self.gateway.hub
        if hub is None:
            raise ValueError("the gateway has not started yet")
        session, text = message.get("session"), message.get("text")
        if not isinstance(session, str) or not _SESSION.fullmatch(session):
            raise ValueError("session must be 1-64 letters, digits, '-' or '_'")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
            raise ValueError(f"text must be 1-{MAX_TEXT_CHARS} characters")
        request = RunRequest(
            session_key=f"{PLATFORM}:dm:{session}",
            text=text,
            platform=PLATFORM,
            chat_kind="dm",
            platform_hint=_HINT,
            user_id="operator",
            user_name="operator",
            origin=Origin(PLATFORM, session, "dm", user_id="operator"),
        )
        events: asyncio.Queue[_Event | None] = asyncio.Queue()
        cancel = asyncio.Event()
        services = _Services(hub, self, events)

        async def run() -> None:
            try:
                async for event in hub.requests.run(request, cancel, services):
                    await events.put(_encode(event))
            finally:
                await events.put(None)

        task = asyncio.create_task(run())
        try:
            while (event := await events.get()) is not None:
                yield event
        finally:
            cancel.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _encode(event: object) -> _Event:
    if isinstance(event, TextDelta):
        return {"type": "delta", "text": event.text}
    if isinstance(event, ToolStarted):
        return {"type": "tool_started", "id": event.call_id, "name": event.name}
    if isinstance(event, ToolFinished):
        return {
            "type": "tool_finished",
            "id": event.call_id,
            "name": event.name,
            "ok": event.ok,
            "summary": event.summary,
        }
    if isinstance(event, Final):
        return {
            "type": "final",
            "text": event.text,
            "model": event.model,
            "prompt_tokens": event.usage.prompt_tokens,
            "completion_tokens": event.usage.completion_tokens,
        }
    if isinstance(event, Failed):
        return {"type": "failed", "message": event.message}
    raise TypeError(f"unknown agent event {type(event).__name__}")
