"""The platform package contract, and the registry of platforms.

A platform knows only this module (and `wizard.py` for its part of the setup wizard): it turns its
network's events into `Inbound` values for the hub and carries the hub's replies back out. It never sees
the agent. Besides the adapter, a platform package declares on its `Platform` class everything the core
shows or asks about it: its settings model (`settings`, with environment names, descriptions and secrets),
the environment prefix they share, its optional-dependency extra, its wizard section, its `doctor` checks,
its `gateway status` fields and its troubleshooting entries. See docs/architecture.md, "Adding a platform".
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, Literal, ParamSpec, Protocol, TypeVar

from hermes.config.sections import SectionSpec, register_section
from hermes.config.settings import Section

if TYPE_CHECKING:
    import asyncio
    from collections.abc import AsyncGenerator

    from hermes.agent.contract import AgentEvent, RunRequest
    from hermes.config import LoadedConfig
    from hermes.platforms.wizard import WizardSection

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

    def command_menu(self) -> list[tuple[str, str]]:
        """The hub's commands as (name, one-line summary), aliases left out, for platforms that register
        them with their server (Discord's slash commands)."""

    def run_request(self, request: RunRequest, cancel: asyncio.Event) -> AsyncGenerator[AgentEvent, None]:
        """For request-driven platforms (the API server): one agent run streamed back, serialised with
        other runs of the same session."""


@dataclass(frozen=True)
class Check:
    """The result of one check, live or not: a line of `hermes doctor`, or the wizard's verdict on the
    answers it was given. For a failure, `fix` says what the operator should do and `suspect` names the
    setting most likely at fault; `facts` carries what a passing check learnt (e.g. the bot's user id)."""

    ok: bool
    label: str
    fix: str | None = None
    suspect: str | None = None
    facts: Mapping[str, str] = field(default_factory=dict)

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


class PlatformSettings(Section):
    """A platform's settings: the `name:` block of config.yaml. Fields carry `Env("PREFIX_...")`,
    `Secret` and `Field(description=...)`; the core documents, loads, shows and redacts them from that."""

    @property
    def configured(self) -> bool:
        """Whether the operator set the platform up, i.e. whether the gateway starts it."""
        return False


@dataclass(frozen=True)
class Trouble:
    """A troubleshooting entry: what the operator sees, and what to do about it."""

    symptom: str
    remedy: str


StatusValue = str | int | float | bool | None


@dataclass(frozen=True)
class Commands:
    """A platform's command group in the `hermes` CLI: `hermes <name> ...`, from the Typer app at
    `target` ("package.module:attribute"), imported only when the group is used."""

    name: str
    target: str
    help: str


class Platform(ABC):
    """One chat network. Subclasses set the class variables and register themselves with `register`."""

    name: ClassVar[str]
    # Set on the class, or per instance where a setting decides (e.g. `matrix.max_message_chars`).
    max_message_chars: int
    can_edit: bool
    # How people call it ("Matrix"), and one line on what it is, for docs, the wizard and doctor.
    label: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # The settings model, its config.yaml block being `name`; every environment name starts with
    # `env_prefix`. None: the platform has no settings of its own.
    settings: ClassVar[type[PlatformSettings] | None] = None
    env_prefix: ClassVar[str] = ""
    # The optional-dependency extra its libraries come with (`pip install 'hermes-gateway[matrix]'`).
    extra: ClassVar[str | None] = None
    # Its part of `hermes gateway setup`; None: the wizard does not offer it.
    wizard: ClassVar[WizardSection | None] = None
    troubleshooting: ClassVar[tuple[Trouble, ...]] = ()
    # Its own `hermes <name> ...` commands, if any.
    commands: ClassVar[Commands | None] = None
    # One `.env` line that enables it with its defaults (`API_SERVER_ENABLED=true`), suggested when no
    # platform is enabled; None when it needs more than one setting.
    quick_start: ClassVar[str | None] = None
    # How often the hub renews the typing indicator while a run goes on.
    typing_refresh_seconds: ClassVar[float] = 5.0
    # Whether a message that is only a command word ("sethome") counts as a command in group chats, for
    # clients that swallow anything starting with "/" themselves.
    bare_commands: bool = False
    # Told to the model: how this platform shows text (Markdown rendered? small screens?).
    prompt_hint: ClassVar[str] = ""

    access: AccessList = AccessList()
    # The home channel from the platform's own settings (e.g. MATRIX_HOME_ROOM); /sethome overrides it.
    default_home: ChatRef | None = None
    # Why the platform is not running, for status output; None while healthy.
    problem: str | None = None
    # True once the platform stopped for good (e.g. credentials rejected): only the operator can bring
    # it back. With a `problem` but not halted, it is reconnecting by itself.
    halted: bool = False
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
    def enabled(cls, config: LoadedConfig) -> bool:
        """Whether the operator configured this platform (by default: its settings say `configured`)."""
        return cls.settings is not None and config.section(cls.settings).configured

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

    def status_fields(self) -> Mapping[str, StatusValue]:
        """What `hermes gateway status` shows for this platform besides its state (e.g. the bot's
        account); read while the platform runs, so it must not block or fail."""
        return {}


_platforms: dict[str, type[Platform]] = {}


P = TypeVar("P", bound="type[Platform]")


def register(cls: P) -> P:
    """Class decorator: make a platform, and its settings section, known to the core by its `name`."""
    existing = _platforms.get(cls.name)
    if existing is not None and existing is not cls:
        owner = f"{existing.__module__}.{existing.__qualname__}"
        raise ValueError(f"platform name {cls.name!r} is taken by {owner}")
    if cls.settings is not None:
        summary = cls.summary or f"The {cls.label or cls.name} platform."
        troubles = tuple((entry.symptom, entry.remedy) for entry in cls.troubleshooting)
        register_section(SectionSpec(cls.name, cls.settings, summary, cls.env_prefix, troubles))
    _platforms[cls.name] = cls
    return cls


def registered() -> dict[str, type[Platform]]:
    """Every platform: the packages under `hermes.platforms`, those installed through the
    `hermes.platforms` entry points, and those already imported (e.g. from `gateway.plugins`)."""
    from hermes.extensions import discover

    discover()
    return dict(sorted(_platforms.items()))
