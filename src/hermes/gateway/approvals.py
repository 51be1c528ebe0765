"""What the gateway offers tools during a run: asking the requester for approval, posting to a chat.

Every approval question has its own id and is posted in the requester's chat. One person in one chat sees
one question at a time: a second question from the same run (tools may run side by side) waits until the
first is answered, so "yes" can only mean the question on screen. An answer is the requester's next
"yes"/"no" there (optionally followed by the question's id), or a ✅/❌ reaction on that very question's
message; a reaction on any other message answers nothing. `resolve` answers a question by its id for
callers that have no chat (the API).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from hermes.agent.contract import Origin
from hermes.gateway.homes import no_home
from hermes.gateway.image_links import images_as_links
from hermes.platforms.base import ChatRef, Inbound, Platform

log = logging.getLogger(__name__)

YES = {"yes", "y", "ok", "approve", "approved", "allow", "✅", "👍"}
NO = {"no", "n", "deny", "denied", "reject", "cancel", "❌", "👎"}

# Who is asked, and where: (platform, chat, thread, user).
_Asker = tuple[str, str, str | None, str]


class ChatDirectory(Protocol):
    """What the approvals and `send_message` need from the hub: the running platforms and their homes."""

    @property
    def platforms(self) -> Mapping[str, Platform]: ...

    async def home_chat(self, platform: str) -> ChatRef | None:
        """The platform's home (`gateway.homes.home_chat`), if it has one."""


@dataclass
class Question:
    id: str
    asker: _Asker
    future: asyncio.Future[bool]
    # The message that shows the question; a reaction counts only on this one.
    message_id: str | None = None


class Approvals:
    def __init__(self, directory: ChatDirectory) -> None:
        self.directory = directory
        self._questions: dict[str, Question] = {}
        self._on_screen: dict[_Asker, Question] = {}
        self._turns: dict[_Asker, asyncio.Lock] = {}
        self._queued: dict[_Asker, int] = {}

    def answer(self, inbound: Inbound) -> bool:
        """True when the message answered the question on screen (and so needs nothing else)."""
        chat = inbound.chat
        question = self._on_screen.get((chat.platform, chat.chat_id, chat.thread_id, inbound.sender_id))
        if question is None or question.future.done() or question.message_id is None:
            return False
        if inbound.reaction_to is not None and inbound.reaction_to != question.message_id:
            return False
        word, _, named = inbound.text.strip().strip(".!").lower().partition(" ")
        if named.strip() and named.strip().strip("#`") != question.id:
            return False
        if word in YES or word in NO:
            question.future.set_result(word in YES)
            return True
        return False

    def awaits(self, inbound: Inbound) -> bool:
        """Whether the sender has a question on screen in this chat, which the message might answer."""
        chat = inbound.chat
        return (chat.platform, chat.chat_id, chat.thread_id, inbound.sender_id) in self._on_screen

    def resolve(self, question_id: str, approved: bool) -> bool:
        """Answer a pending question by its id; False when there is no such question waiting."""
        question = self._questions.get(question_id)
        if question is None or question.future.done():
            return False
        question.future.set_result(approved)
        return True

    def pending(self) -> list[str]:
        """The ids of the questions waiting for an answer."""
        return [qid for qid, q in self._questions.items() if not q.future.done()]

    async def ask(self, platform: Platform, origin: Origin, prompt: str, wait_seconds: float) -> bool:
        chat = ChatRef(platform.name, origin.chat_id, origin.kind, origin.thread_id)
        asker: _Asker = (chat.platform, chat.chat_id, chat.thread_id, origin.user_id)
        question = Question(secrets.token_hex(3), asker, asyncio.get_running_loop().create_future())
        text = (
            f"{prompt}\n\nReply **yes** to approve or **no** to refuse (within {int(wait_seconds)} s), "
            f"or react ✅/❌ to this message. Question `{question.id}`."
        )
        if len(text) > platform.max_message_chars:
            log.warning("%s: an approval question is too long to show whole; refused", platform.name)
            return False
        try:
            async with self._turn(asker):
                self._questions[question.id] = question
                self._on_screen[asker] = question
                ref = await platform.send(
                    chat,
                    text,
                    idempotency_key=f"{origin.event_id or uuid.uuid4().hex}:approval:{question.id}",
                )
                question.message_id = ref.message_id
                return await asyncio.wait_for(question.future, wait_seconds)
        except TimeoutError:
            return False
        finally:
            self._questions.pop(question.id, None)
            if self._on_screen.get(asker) is question:
                del self._on_screen[asker]

    @contextlib.asynccontextmanager
    async def _turn(self, asker: _Asker) -> AsyncIterator[None]:
        """One question at a time per asker, first come first served; the lock goes when nobody waits."""
        lock = self._turns.setdefault(asker, asyncio.Lock())
        self._queued[asker] = self._queued.get(asker, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._queued[asker] -= 1
            if not self._queued[asker]:
                del self._queued[asker], self._turns[asker]

    def services_for(self, platform: Platform) -> HubServices:
        return HubServices(self, platform)


class HubServices:
    """`agent.contract.GatewayServices` for one run on one platform."""

    def __init__(self, approvals: Approvals, platform: Platform) -> None:
        self.approvals = approvals
        self.platform = platform

    async def request_approval(self, origin: Origin, prompt: str, wait_seconds: float) -> bool:
        if origin.platform != self.platform.name:
            return False
        return await self.approvals.ask(self.platform, origin, prompt, wait_seconds)

    async def send_message(self, target: str, text: str) -> str:
        return await send_to_target(self.approvals.directory, target, text)


async def send_to_target(directory: ChatDirectory, target: str, text: str) -> str:
    """`home:<platform>` (the stored home, else the platform's configured one) or `<platform>:<chat_id>`."""
    scope, _, rest = target.partition(":")
    if scope == "home":
        platform = _platform(directory, rest)
        chat = await directory.home_chat(rest)
        if chat is None:
            raise no_home(rest)
    else:
        platform = _platform(directory, scope)
        if not rest:
            raise LookupError(f"target {target!r} names no chat: use home:<platform> or <platform>:<chat id>")
        chat = ChatRef(scope, rest, "channel")
    ref = await platform.send(chat, images_as_links(text), idempotency_key=f"send:{uuid.uuid4().hex}")
    return ref.message_id


def _platform(directory: ChatDirectory, name: str) -> Platform:
    platform = directory.platforms.get(name)
    if platform is None:
        running = ", ".join(sorted(directory.platforms)) or "none"
        raise LookupError(f"no platform {name!r} is running (running: {running})")
    return platform
