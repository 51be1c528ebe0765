"""The provider contract: one streaming call in, a small set of normalised events out, and the registry.

Every provider family lives in its own module in this package and registers itself with
`register_provider`; `hermes.agent.providers.create_provider` imports them all, so adding a family is one
new module.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from hermes.agent.messages import Message, SystemPrompt
from hermes.config.settings import Settings


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

_registry: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    if name in _registry and _registry[name] is not factory:
        raise ValueError(f"provider {name!r} is already registered")
    _registry[name] = factory


def provider_factory(name: str) -> ProviderFactory | None:
    return _registry.get(name)


def registered_providers() -> list[str]:
    return sorted(_registry)


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
