"""The contract between the hub and a platform adapter, and the registry of adapters.

A platform knows only this module: it turns its network's events into `Inbound` values for the hub and
carries the hub's replies back out. It never sees the agent.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, Literal, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    import asyncio
    from collections.abc import AsyncGenerator

    from hermes.agent.contract import AgentEvent, RunRequest
    from hermes.config import LoadedConfig

ChatKind = Literal["dm", "group", "channel"]
_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass(frozen=True)
class ChatRef:
    """Where a message lives."""

    platform: str
    chat_id: str
    kind: ChatKind
    thread_id: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file travelling with a message. `path` is a local file the adapter downloaded or will upload."""

    filename: str
    mime_type: str
    path: str
    size: int
    is_voice: bool = False


@dataclass(frozen=True)
class Inbound:
    event_id: str
    chat: ChatRef
    sender_id: str
    sender_name: str
    text: str
    addressed: bool
    sent_at: float
    attachments: tuple[Attachment, ...] = ()
    sender_is_bot: bool = False
    # For a reaction: the id of the message it was put on (an answer counts only on its question).
    reaction_to: str | None = None


@dataclass(frozen=True)
class AccessList:
    """Who may talk to the bot on one platform, as the operator configured it for that platform."""

    users: frozenset[str] = frozenset()
    allow_all: bool = False


@dataclass(frozen=True)
class MessageRef:
    """A message the bot sent, so it can be edited later."""

    chat: ChatRef
    message_id: str


class HubPort(Protocol):
    """What a platform may ask of the hub."""

    async def receive(self, inbound: Inbound, *, cursor: str | None = None) -> bool:
        """Record the event durably (with the platform's new cursor, in one transaction) and process it.

        Returns False when the event was already known (a duplicate from a replay or a reconnect).
        """

    async def save_cursor(self, platform: str, cursor: str) -> None:
        """Advance the platform's cursor when a batch carried no event for the hub."""

    async def load_cursor(self, platform: str) -> str | None: ...

    def is_allowed(self, platform: str, user_id: str) -> bool:
        """The authorization verdict, for decisions the adapter makes itself (e.g. accepting invites)."""

    def is_command(self, text: str, *, bare: bool = False) -> bool:
        """Whether the hub will treat `text` as one of its commands (`/name` or `!name`; with `bare`, also
        a lone command word), for adapters whose addressing rules depend on it."""

    def run_request(self, request: RunRequest, cancel: asyncio.Event) -> AsyncGenerator[AgentEvent, None]:
        """For request-driven platforms (the API server): one agent run streamed back, serialised with
        other runs of the same session."""


@dataclass(frozen=True)
class Check:
    """One line of `hermes doctor`: what was checked, and for a failure what the operator should do."""

    ok: bool
    label: str
    fix: str | None = None

    def line(self) -> str:
        if self.ok:
            return f"✓ {self.label}"
        return f"✗ {self.label}" + (f" — fix: {self.fix}" if self.fix else "")


class FenceLost(Exception):
    """This gateway no longer holds the platform's lease (another replica does): it must not send."""


class Fence(Protocol):
    """Set on a platform by a gateway that holds it through a lease shared with other replicas."""

    def check(self) -> None:
        """Raise `FenceLost` once the lease may have passed to another replica."""


def _fenced(
    method: Callable[Concatenate[Platform, _P], Awaitable[_R]],
) -> Callable[Concatenate[Platform, _P], Awaitable[_R]]:
    async def fenced(platform: Platform, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if platform.fence is not None:
            platform.fence.check()
        return await method(platform, *args, **kwargs)

    functools.update_wrapper(fenced, method)
    fenced.__dict__["_hermes_fenced"] = True
    return fenced


class StartRefused(Exception):
    """The platform cannot start until the operator changes something: retrying will not help."""


class CredentialsRejected(StartRefused):
    """The server refused the platform's credentials: retrying will not help, the operator must act."""


class Platform(ABC):
    """One chat network. Subclasses set the class variables and register themselves with `register`."""

    name: ClassVar[str]
    max_message_chars: ClassVar[int]
    can_edit: ClassVar[bool]
    # How often the hub renews the typing indicator while a run goes on.
    typing_refresh_seconds: ClassVar[float] = 5.0
    # Whether a message that is only a command word ("sethome") counts as a command in group chats, for
    # clients that swallow anything starting with "/" themselves.
    bare_commands: ClassVar[bool] = False
    # Told to the model: how this platform shows text (Markdown rendered? small screens?).
    prompt_hint: ClassVar[str] = ""

    access: AccessList = AccessList()
    # The home channel from the platform's own settings (e.g. MATRIX_HOME_ROOM); /sethome overrides it.
    default_home: ChatRef | None = None
    # Why the platform is not running, for status output; None while healthy.
    problem: str | None = None
    # False for platforms every replica serves at once (the API server); True where one bot account allows
    # one connection: replicas sharing a PostgreSQL store then hold it in turn, through a lease.
    exclusive: ClassVar[bool] = True
    # Checked before every send and edit, whatever the subclass: see `__init_subclass__`.
    fence: Fence | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Every platform, present and to come, is fenced without code of its own: a replica that lost its
        # lease must not post, however the send was reached (a reply, an approval, a cron job, a tool).
        for name in ("send", "edit"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_hermes_fenced", False):
                setattr(cls, name, _fenced(method))

    @classmethod
    @abstractmethod
    def enabled(cls, config: LoadedConfig) -> bool:
        """Whether the operator configured this platform."""

    @classmethod
    @abstractmethod
    def create(cls, config: LoadedConfig) -> Platform: ...

    @classmethod
    async def check(cls, config: LoadedConfig) -> list[Check]:
        """Doctor lines for this platform: are the credentials accepted? Platforms that can ask their
        server do so here, with a short timeout."""
        return [Check(True, f"{cls.name}: configured (no live check)")]

    @abstractmethod
    async def start(self, hub: HubPort) -> None:
        """Connect and start pushing `Inbound` to `hub.receive`. Returns once connected.

        Raises `CredentialsRejected` when the server refuses the credentials; any other exception means
        the connection failed and the gateway retries with backoff.
        """

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def send(
        self,
        chat: ChatRef,
        text: str,
        *,
        idempotency_key: str,
        attachments: Sequence[Attachment] = (),
    ) -> MessageRef: ...

    async def edit(self, ref: MessageRef, text: str) -> None:
        raise NotImplementedError(f"{self.name} cannot edit messages")

    async def typing(self, chat: ChatRef, on: bool) -> None:  # noqa: B027 - optional capability
        """Show or clear a typing indicator; platforms without one ignore it."""


@dataclass
class _Registry:
    platforms: dict[str, type[Platform]] = field(default_factory=dict)
    discovered: bool = False


_registry = _Registry()


def register(cls: type[Platform]) -> type[Platform]:
    """Class decorator: make a platform known to the gateway by its `name`."""
    existing = _registry.platforms.get(cls.name)
    if existing is not None and existing is not cls:
        owner = f"{existing.__module__}.{existing.__qualname__}"
        raise ValueError(f"platform name {cls.name!r} is taken by {owner}")
    _registry.platforms[cls.name] = cls
    return cls


def registered() -> dict[str, type[Platform]]:
    """Every platform package under `hermes.platforms`, imported once so that each registers itself."""
    if not _registry.discovered:
        import hermes.platforms as package

        for module in pkgutil.iter_modules(package.__path__):
            if module.ispkg:
                importlib.import_module(f"{package.__name__}.{module.name}")
        _registry.discovered = True
    return dict(_registry.platforms)
