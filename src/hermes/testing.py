"""Test helpers for Hermes and for authors of platform packages.

`TestPlatform` is a public in-memory chat platform for fast tests of the hub, of tools and of plugins:

    platform = TestPlatform()
    hub = ...                           # a Hub with {"test": platform}
    await platform.start(hub)
    await platform.push("hello", user="@alice")
    reply = await platform.wait_for_messages(1)

Importing this module registers the platform under the name "test"; a gateway enables it when its
config names the module as a plugin (`gateway.plugins: [hermes.testing]` in config.yaml).

`contract_problems` checks a platform package against the contract (docs/architecture.md, "Adding a
platform"); a plugin's own test suite should start with

    def test_the_package_keeps_the_contract() -> None:
        assert contract_problems(EchoPlatform) == []
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import itertools
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from hermes.platforms.base import (
    AccessList,
    Attachment,
    ChatKind,
    ChatRef,
    HubPort,
    Inbound,
    MessageRef,
    Platform,
    PlatformSettings,
    register,
    registered,
)

if TYPE_CHECKING:
    from hermes.config import LoadedConfig


@dataclass
class SentMessage:
    message_id: str
    chat: ChatRef
    text: str
    idempotency_key: str
    attachments: tuple[Attachment, ...] = ()
    edits: list[str] = field(default_factory=list)


@register
class TestPlatform(Platform):
    """Records everything the bot sends; `push` plays a person writing to the bot.

    Like the real networks it deduplicates sends by idempotency key, so a crash-and-retry test sees one
    message, not two.
    """

    __test__ = False  # not a pytest test class
    name: ClassVar[str] = "test"
    label: ClassVar[str] = "Test"
    summary: ClassVar[str] = "The in-memory test platform (`hermes.testing`)."
    max_message_chars: int = 4000
    can_edit: bool = True
    typing_refresh_seconds: ClassVar[float] = 5.0

    def __init__(
        self,
        *,
        access: AccessList | None = None,
        max_message_chars: int | None = None,
        can_edit: bool | None = None,
        bare_commands: bool = False,
    ) -> None:
        self.access = access if access is not None else AccessList(allow_all=True)
        if max_message_chars is not None:
            self.max_message_chars = max_message_chars
        if can_edit is not None:
            self.can_edit = can_edit
        self.bare_commands = bare_commands
        self.hub: HubPort | None = None
        self.messages: list[SentMessage] = []
        self.typing_events: list[tuple[str, bool]] = []
        self.fail_sends = 0
        self._by_key: dict[str, SentMessage] = {}
        self._ids = itertools.count(1)
        self._events = itertools.count(1)
        self._changed = asyncio.Condition()
        self.started = False

    @classmethod
    def enabled(cls, config: LoadedConfig) -> bool:
        return cls.__module__ in config.settings.gateway.plugins

    @classmethod
    def create(cls, config: LoadedConfig) -> TestPlatform:
        allowed = frozenset(config.settings.gateway.allowed_users)
        return cls(access=AccessList(allowed, config.settings.gateway.allow_all_users))

    async def start(self, hub: HubPort) -> None:
        self.hub = hub
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def push(
        self,
        text: str,
        *,
        user: str = "@alice",
        user_name: str | None = None,
        chat: str | None = None,
        kind: ChatKind = "dm",
        thread: str | None = None,
        addressed: bool = True,
        event_id: str | None = None,
        sent_at: float | None = None,
        is_bot: bool = False,
        attachments: Sequence[Attachment] = (),
        reaction_to: str | None = None,
    ) -> Inbound:
        """Deliver a message from a person to the hub, as the network would."""
        if self.hub is None:
            raise RuntimeError("TestPlatform.push before start(hub)")
        inbound = Inbound(
            event_id=event_id or f"ev{next(self._events)}",
            chat=ChatRef(self.name, chat or f"dm-{user}", kind, thread),
            sender_id=user,
            sender_name=user_name or user.lstrip("@").split(":")[0],
            text=text,
            addressed=addressed,
            sent_at=time.time() if sent_at is None else sent_at,
            attachments=tuple(attachments),
            sender_is_bot=is_bot,
            reaction_to=reaction_to,
        )
        await self.hub.receive(inbound)
        return inbound

    async def send(
        self,
        chat: ChatRef,
        text: str,
        *,
        idempotency_key: str,
        attachments: Sequence[Attachment] = (),
    ) -> MessageRef:
        if self.fail_sends > 0:
            self.fail_sends -= 1
            raise ConnectionError("test platform: send failed on purpose")
        known = self._by_key.get(idempotency_key)
        if known is None:
            known = SentMessage(f"m{next(self._ids)}", chat, text, idempotency_key, tuple(attachments))
            self._by_key[idempotency_key] = known
            self.messages.append(known)
            await self._notify()
        return MessageRef(chat, known.message_id)

    async def edit(self, ref: MessageRef, text: str) -> None:
        message = next((m for m in self.messages if m.message_id == ref.message_id), None)
        if message is None:
            raise LookupError(f"test platform: no message {ref.message_id}")
        message.edits.append(text)
        message.text = text
        await self._notify()

    async def typing(self, chat: ChatRef, on: bool) -> None:
        self.typing_events.append((chat.chat_id, on))

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def in_chat(self, chat_id: str) -> list[SentMessage]:
        return [m for m in self.messages if m.chat.chat_id == chat_id]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `condition()` holds after some send or edit; TimeoutError otherwise."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(condition)

    async def wait_for_messages(
        self, count: int, *, chat: str | None = None, timeout: float = 5.0
    ) -> list[SentMessage]:
        def enough() -> bool:
            return len(self.in_chat(chat) if chat else self.messages) >= count

        await self.wait_for(enough, timeout)
        return self.in_chat(chat) if chat else list(self.messages)


def contract_problems(cls: type[Platform]) -> list[str]:
    """What `cls` gets wrong about the platform package contract, one line each; empty when nothing."""
    problems: list[str] = []
    name = getattr(cls, "name", "")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
        problems.append(f"name {name!r} is not a lower-case identifier (it is the config.yaml block)")
    elif registered().get(name) is not cls:
        problems.append(f"{cls.__qualname__} is not registered as {name!r} (decorate it with @register)")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        problems.append(f"abstract methods not implemented: {missing}")
    for attribute in ("label", "summary"):
        if not getattr(cls, attribute, ""):
            problems.append(f"{attribute} is empty (docs, the wizard and doctor show it)")
    if not isinstance(getattr(cls, "max_message_chars", None), int):
        problems.append("max_message_chars is not set")
    problems += _settings_problems(cls)
    problems += _wizard_problems(cls)
    for entry in cls.troubleshooting:
        if not (entry.symptom.strip() and entry.remedy.strip()):
            problems.append(f"a troubleshooting entry lacks its symptom or remedy: {entry!r}")
    if cls.commands is not None:
        module, _, attribute = cls.commands.target.partition(":")
        try:
            getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            problems.append(f"commands target {cls.commands.target!r} cannot be loaded: {exc}")
    return problems


def _settings_problems(cls: type[Platform]) -> list[str]:
    model = cls.settings
    if model is None:
        return []
    if not (isinstance(model, type) and issubclass(model, PlatformSettings)):
        return [f"settings {model!r} is not a PlatformSettings model"]
    problems = []
    prefix = cls.env_prefix
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*_", prefix):
        problems.append(f"env_prefix {prefix!r} is not like 'NAME_'")
    for field_name, info in model.model_fields.items():
        if not info.description:
            problems.append(f"setting {cls.name}.{field_name} has no description (Field(description=...))")
    return problems


def _wizard_problems(cls: type[Platform]) -> list[str]:
    if cls.wizard is None:
        return []
    problems = []
    flag_prefix = f"--{cls.name.replace('_', '-')}-"
    for flag in cls.wizard.flags:
        if not flag.name.startswith(flag_prefix):
            problems.append(f"wizard flag {flag.name} does not start with {flag_prefix}")
        if not flag.key.startswith(f"{cls.name}."):
            problems.append(f"wizard flag {flag.name} answers {flag.key!r}, not a key under {cls.name}.")
    return problems
