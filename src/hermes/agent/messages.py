"""The transcript as the agent holds it: provider-neutral messages, converted to each API's shape on send."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from hermes.agent.contract import ImageInput

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    # The raw JSON text the model produced, kept verbatim even when it does not parse.
    arguments: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ToolCall:
        arguments = data.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False)
        return cls(str(data.get("id", "")), str(data.get("name", "")), arguments)


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    # For tool results: the tool's name, and whether it is an error (Anthropic's `is_error`).
    name: str | None = None
    is_error: bool = False
    images: tuple[ImageInput, ...] = field(default=(), repr=False)
    # The row id in state.db; None for messages not stored (stateless runs, summaries).
    id: int | None = None
    # For a user message: the chat event it came from, so a run redone after a crash stores it once.
    event_id: str | None = None

    def chars(self) -> int:
        """Size used to estimate tokens (≈ chars / 4) without a tokenizer."""
        size = len(self.content or "")
        for call in self.tool_calls:
            size += len(call.name) + len(call.arguments) + 16
        return size + 8 + 800 * len(self.images)


@dataclass(frozen=True, slots=True)
class SystemPrompt:
    """`stable` changes rarely (identity, tools guidance, skills) and is sent first so it can be cached."""

    stable: str
    volatile: str = ""

    @property
    def text(self) -> str:
        return f"{self.stable}\n\n{self.volatile}" if self.volatile else self.stable


def parse_arguments(raw: str) -> dict[str, Any]:
    """The arguments of a tool call as a dict; raises ValueError with a message meant for the model."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the arguments are not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict):
        raise ValueError(f"the arguments must be a JSON object, got {type(value).__name__}")
    return value


def close_dangling_calls(messages: list[Message]) -> list[Message]:
    """Give every tool call a result and drop results with no call, so the transcript is always sendable.

    A run cancelled or crashed between a model's tool call and the tool's result would otherwise leave a
    transcript that every provider rejects.
    """
    out: list[Message] = []
    pending: dict[str, ToolCall] = {}
    changed = False

    def flush() -> None:
        for call in pending.values():
            out.append(
                Message(
                    "tool",
                    "Error: the tool was interrupted before it finished.",
                    (),
                    call.id,
                    call.name,
                    True,
                )
            )
        pending.clear()

    for message in messages:
        if message.role == "tool":
            if message.tool_call_id in pending:
                del pending[message.tool_call_id]
                out.append(message)
            else:
                changed = True
            continue
        if pending:
            changed = True
            flush()
        out.append(message)
        if message.role == "assistant" and message.tool_calls:
            pending = {call.id: call for call in message.tool_calls}
    if pending:
        changed = True
        flush()
    return out if changed else messages
