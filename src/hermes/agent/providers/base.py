"""The provider contract: one streaming call in, a small set of normalised events out, and the registry.

Every provider lives in its own module in this package (or in an installed distribution, through the
`hermes.providers` entry points) and registers itself with `register_provider`: its name, its settings
(its key in the shared `provider_keys` block, a block of its own), its part of `hermes gateway setup`
and its factory. The core finds all of it through the registry, so adding a provider is one new module.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol

from hermes.config.providers import ProviderName, register_provider_name
from hermes.config.sections import PrefixRule, SectionSpec, register_section
from hermes.config.settings import Section, Settings

if TYPE_CHECKING:
    from hermes.agent.messages import Message, SystemPrompt


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    model: str
    system: SystemPrompt
    messages: Sequence[Message]
    tools: Sequence[ToolSpec] = ()
    max_tokens: int = 4096


@dataclass(frozen=True, slots=True)
class TextChunk:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStart:
    index: int
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    index: int
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolCallEnd:
    index: int


@dataclass(frozen=True, slots=True)
class UsageUpdate:
    """Token counts as reported so far; later updates for the same call replace earlier non-zero ones."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Finish:
    """The model finished its turn: "stop", "tool_calls", "length", or the provider's own word."""

    reason: str


ProviderEvent = TextChunk | ToolCallStart | ToolCallDelta | ToolCallEnd | UsageUpdate | Finish


class ProviderError(Exception):
    """A provider call failed. The message is safe to show: it names the provider and never holds a key."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class ProviderConfigError(ValueError):
    """The settings do not describe a usable provider (missing key or base URL, unknown name)."""


class Provider(Protocol):
    name: str

    def stream(self, request: ProviderRequest) -> AsyncIterator[ProviderEvent]:
        """One attempt, always streamed. Raises ProviderError; retrying is the caller's business.

        Ends with a `Finish` event, or raises: a stream that stops without one is an error.
        """

    async def check(self) -> str:
        """One cheap live request (the models list) proving the endpoint and the key work, for
        `hermes doctor`. Returns a short description; raises ProviderError."""

    async def close(self) -> None: ...


class UnconfiguredProvider:
    """Stands in for a provider the settings cannot build (no key, no base URL), so a daemon still starts
    and every request is answered with what is missing instead of the process dying at start."""

    def __init__(self, problem: str) -> None:
        self.name = "unconfigured"
        self.problem = problem

    async def stream(self, request: ProviderRequest) -> AsyncIterator[ProviderEvent]:
        raise ProviderError(f"the model is not set up: {self.problem}")
        yield  # an async generator, like every provider's stream

    async def check(self) -> str:
        raise ProviderError(f"the model is not set up: {self.problem}")

    async def close(self) -> None:
        return None


ProviderFactory = Callable[[Settings], Provider]

# The block every provider puts its credentials in: `provider_keys.<name>_api_key`.
KEYS_BLOCK = "provider_keys"
_KEYS_SUMMARY = "API keys of the providers; only the chosen provider's key is needed."


def keys_section(model: type[Section], env_prefix: str, rule: PrefixRule = PrefixRule.SHARED) -> SectionSpec:
    """A provider's fields in `provider_keys`. Its environment names are the vendor's own, which its SDKs
    and tools read too: by default Hermes claims only the names it declares, not the whole prefix."""
    return SectionSpec(KEYS_BLOCK, model, _KEYS_SUMMARY, env_prefix, prefix_rule=rule)


@dataclass(frozen=True)
class SetupQuestion:
    """One question of the provider's part of `hermes gateway setup`, keyed by the setting it fills."""

    key: str
    prompt: str
    # Its option of `hermes gateway setup` (`--api-key` answers the key of whichever provider is chosen).
    flag: str
    # How a failed check names it: "The API key".
    fix: str
    help: str = ""
    explain: str = ""
    secret: bool = False
    optional: bool = False
    url: bool = False
    # Suggested when the setting has no value yet.
    default: str | None = None
    # Asked only once the question with this key has an answer.
    after: str | None = None


@dataclass(frozen=True)
class ProviderSpec:
    """A provider as the core sees it: `model.provider: <name>`, its settings, its setup questions."""

    name: str
    label: str
    # One line in the wizard's list of providers.
    hint: str
    factory: ProviderFactory
    sections: tuple[SectionSpec, ...] = ()
    # The setting holding its credential, which a rejected key points at; None: it needs none.
    key_setting: str | None = None
    questions: tuple[SetupQuestion, ...] = ()
    # Serves any OpenAI-compatible `model.base_url`: an auxiliary model given only a `base_url` uses it,
    # and the wizard keeps `model.base_url` and `model.api_key` for it.
    any_endpoint: bool = False
    # Other names the compatible system and the fleet manager write for it.
    aliases: tuple[str, ...] = ()
    # Set on the one default provider: the model used when `model.default` is not set.
    default_model: str | None = None
    # An example model id the wizard shows ("llama3.1 (Ollama)").
    model_example: str | None = None
    # Its place in the wizard's list, lowest first (then by name).
    menu_order: int = 50


_registry: dict[str, ProviderSpec] = {}


def register_provider(spec: ProviderSpec) -> ProviderSpec:
    """Make a provider known: `model.provider` accepts its name, its settings are settings."""
    existing = _registry.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"provider {spec.name!r} is already registered by {existing.factory.__module__}")
    for section in spec.sections:
        register_section(section)
    register_provider_name(ProviderName(spec.name, spec.aliases, spec.default_model))
    _registry[spec.name] = spec
    return spec


def registered_providers() -> dict[str, ProviderSpec]:
    """Every provider: the modules of this package, those of `hermes.providers` entry points, and any
    imported since (`gateway.plugins`), by name."""
    from hermes.extensions import discover

    discover()
    return dict(sorted(_registry.items()))


def provider_spec(name: str) -> ProviderSpec | None:
    return registered_providers().get(name)


def is_retryable_status(status: int) -> bool:
    return status in (408, 409, 429) or status >= 500


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    seconds = headers.get("retry-after")
    if seconds:
        try:
            return max(0.0, float(seconds))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(seconds)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
    return None


def redact(text: str, secrets: Sequence[str | None]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def connection_error(label: str, started: bool, detail: str) -> ProviderError:
    if started:
        return ProviderError(f"the reply from {label} was cut off mid-stream ({detail})", retryable=True)
    return ProviderError(f"could not reach {label} ({detail})", retryable=True)


def error_detail(body: object, fallback: str) -> str:
    """The human part of an API error body, in OpenAI's or Anthropic's envelope."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = inner.get("message")
            if isinstance(message, str) and message:
                return message
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return fallback
