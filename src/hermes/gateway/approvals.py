"""What the gateway offers tools during a run: asking the requester for approval, posting to a chat.

An approval question is posted in the requester's chat; the requester's next message there (or a ✅/❌
reaction the adapter turns into a message) answers it before anything else looks at that message.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING

from hermes.agent.contract import Origin
from hermes.gateway.homes import home_chat
from hermes.platforms.base import ChatRef, Inbound, Platform

if TYPE_CHECKING:
    from hermes.gateway.hub import Hub

log = logging.getLogger(__name__)

YES = {"yes", "y", "ok", "approve", "approved", "allow", "✅", "👍"}
NO = {"no", "n", "deny", "denied", "reject", "cancel", "❌", "👎"}

_WaitKey = tuple[str, str, str | None, str]


class Approvals:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._waiting: dict[_WaitKey, asyncio.Future[bool]] = {}

    def answer(self, inbound: Inbound) -> bool:
        """True when the message answered a pending question (and so needs nothing else)."""
        chat = inbound.chat
        future = self._waiting.get((chat.platform, chat.chat_id, chat.thread_id, inbound.sender_id))
        if future is None or future.done():
            return False
        word = inbound.text.strip().strip(".!").lower()
        if word in YES or word in NO:
            future.set_result(word in YES)
            return True
        return False

    async def ask(self, platform: Platform, origin: Origin, prompt: str, wait_seconds: float) -> bool:
        chat = ChatRef(platform.name, origin.chat_id, origin.kind, origin.thread_id)
        key = (chat.platform, chat.chat_id, chat.thread_id, origin.user_id)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        try:
            await platform.send(
                chat,
                f"{prompt}\n\nReply **yes** to approve or **no** to refuse (within {int(wait_seconds)} s).",
                idempotency_key=f"{origin.event_id or uuid.uuid4().hex}:approval:{uuid.uuid4().hex[:8]}",
            )
            return await asyncio.wait_for(future, wait_seconds)
        except TimeoutError:
            return False
        finally:
            if self._waiting.get(key) is future:
                del self._waiting[key]

    def services_for(self, platform: Platform) -> HubServices:
        return HubServices(self.hub, platform)


class HubServices:
    """`agent.contract.GatewayServices` for one run on one platform."""

    def __init__(self, hub: Hub, platform: Platform) -> None:
        self.hub = hub
        self.platform = platform

    async def request_approval(self, origin: Origin, prompt: str, wait_seconds: float) -> bool:
        if origin.platform != self.platform.name:
            return False
        return await self.hub.approvals.ask(self.platform, origin, prompt, wait_seconds)

    async def send_message(self, target: str, text: str) -> str:
        return await send_to_target(self.hub, target, text)


async def send_to_target(hub: Hub, target: str, text: str) -> str:
    """`home:<platform>` (the stored home, else the platform's configured one) or `<platform>:<chat_id>`."""
    scope, _, rest = target.partition(":")
    if scope == "home":
        platform = _platform(hub, rest)
        chat = await home_chat(hub.store.homes, platform)
    else:
        platform = _platform(hub, scope)
        if not rest:
            raise LookupError(f"target {target!r} names no chat: use home:<platform> or <platform>:<chat id>")
        chat = ChatRef(scope, rest, "channel")
    ref = await platform.send(chat, text, idempotency_key=f"send:{uuid.uuid4().hex}")
    return ref.message_id


def _platform(hub: Hub, name: str) -> Platform:
    platform = hub.platforms.get(name)
    if platform is None:
        running = ", ".join(sorted(hub.platforms)) or "none"
        raise LookupError(f"no platform {name!r} is running (running: {running})")
    return platform
