"""What the gateway sees of the agent: a run request in, a stream of events out.

The hub depends on `AgentPort`, so the local agent and the proxy to a remote API server are
interchangeable. Tools that must reach a person or a platform do it through `GatewayServices`, which the
gateway implements; the agent never imports the gateway.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ImageInput:
    mime_type: str
    data: bytes


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens
        )


@dataclass(frozen=True)
class ChatMessage:
    """A message of a history the caller supplies: the opening of a new session (`RunRequest.seed`)."""

    role: Role
    content: str | None
    images: tuple[ImageInput, ...] = ()
    tool_calls: tuple[dict[str, Any], ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class Origin:
    """The chat a run's input came from: where a tool asks its requester for approval, or where a cron job
    it creates posts its answers."""

    platform: str
    chat_id: str
    kind: Literal["dm", "group", "channel"]
    thread_id: str | None = None
    user_id: str = ""
    event_id: str | None = None


@dataclass(frozen=True)
class RunRequest:
    session_key: str
    text: str
    platform: str
    chat_kind: Literal["dm", "group", "channel", "api"]
    # How the platform shows text, for the system prompt, in the platform's own words.
    platform_hint: str = ""
    user_id: str = ""
    user_name: str = ""
    images: tuple[ImageInput, ...] = ()
    model_override: str | None = None
    # Stored runs: the session's opening history when it has no transcript yet (an API client that reuses
    # the id of a stateless exchange sends that exchange again).
    seed: tuple[ChatMessage, ...] = ()
    # Extra system text layered over the agent's own prompt (an API client's system messages).
    extra_system: str | None = None
    # The chat the input came from, handed to tools (approvals, cron delivery); None when no chat is
    # behind the run (API requests, cron jobs).
    origin: Origin | None = None
    # Whose memory the run sees and edits: None for the owner's (memories/USER.md and MEMORY.md), else a
    # stable name for the person (e.g. "matrix:@bob:example.org"), whose memory is kept apart.
    memory_scope: str | None = None
    # A scheduled run: nobody is there, and tools that create standing work (`attended_only`) are not
    # offered, so a job cannot create jobs.
    unattended: bool = False
    # A caller that waits for the whole answer (an API request): the exchange is stored in one transaction
    # when the run ends, not message by message. A crash mid-run loses only a run nobody got an answer to.
    store_at_end: bool = False
    # The caller made the session key up for this run: nothing is stored under it, so no session is looked
    # up, and the session is opened with the run's first write.
    new_session: bool = False


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolStarted:
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolFinished:
    call_id: str
    name: str
    ok: bool
    summary: str


@dataclass(frozen=True)
class Final:
    text: str
    model: str
    usage: Usage


@dataclass(frozen=True)
class Failed:
    """The run ended without an answer. `message` is safe to show to the user; it never holds a secret."""

    message: str
    status: int | None = None
    cancelled: bool = False


AgentEvent = TextDelta | ToolStarted | ToolFinished | Final | Failed


class AgentPort(Protocol):
    def run(
        self, request: RunRequest, cancel: asyncio.Event, services: GatewayServices | None = None
    ) -> AsyncIterator[AgentEvent]:
        """Stream one run. Always ends with exactly one `Final` or `Failed`; stops within 1 s of `cancel`."""

    async def close(self) -> None: ...


class GatewayServices(Protocol):
    """What the gateway offers tools during a run."""

    async def request_approval(self, origin: Origin, prompt: str, wait_seconds: float) -> bool:
        """Ask the requesting person to approve something; False on no, timeout or no way to ask."""

    async def send_message(self, target: str, text: str) -> str:
        """Post to a chat: `home:<platform>` or `<platform>:<chat_id>`. Returns the message id."""
