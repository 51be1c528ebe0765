"""What the fake model says: scripted turns, and their JSON form for the control endpoint.

Every turn answers exactly one request. Reply turns (`Text`, `ToolCalls`, `Echo`) are rendered in the wire
format of whichever API was called; failure turns (`Error`, `Malformed`, `Cut`, `Stall`) wrap a reply so the
same breakage can hit a text stream or the middle of a tool call's arguments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter


@dataclass(frozen=True)
class Usage:
    """Token counts to report, under each API's own field names; None means "estimate" (≈ chars / 4)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class Call:
    """One tool call. A str `arguments` is sent verbatim, so it may deliberately be invalid JSON."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True)
class Text:
    """A plain answer. Streamed one word per chunk unless `chunks` asks for that many equal pieces."""

    text: str
    chunks: int | None = None
    chunk_delay: float = 0.0
    delay: float = 0.0
    truncated: bool = False
    usage: Usage | None = None
    kind: Literal["text"] = field(default="text", kw_only=True)


@dataclass(frozen=True)
class ToolCalls:
    """One or several tool calls in one turn, optionally after some text; arguments stream in `arg_chunks`."""

    calls: Sequence[Call]
    text: str = ""
    arg_chunks: int = 3
    chunk_delay: float = 0.0
    delay: float = 0.0
    usage: Usage | None = None
    kind: Literal["tool_calls"] = field(default="tool_calls", kw_only=True)

    def __post_init__(self) -> None:
        if not self.calls:
            raise ValueError("ToolCalls needs at least one Call")
        object.__setattr__(self, "calls", tuple(self.calls))


@dataclass(frozen=True)
class Echo:
    """Answers with the text of the last user message (the default when nothing is scripted)."""

    prefix: str = ""
    chunks: int | None = None
    chunk_delay: float = 0.0
    delay: float = 0.0
    usage: Usage | None = None
    kind: Literal["echo"] = field(default="echo", kw_only=True)


Reply = Annotated[Text | ToolCalls | Echo, Field(discriminator="kind")]


@dataclass(frozen=True)
class Error:
    """An HTTP error with the body each API really sends; `retry_after` (seconds) sets `Retry-After`.

    With `in_stream`, a streaming request gets a 200, the first event, then an error event instead.
    """

    status: int
    message: str | None = None
    retry_after: float | None = None
    error_type: str | None = None
    code: str | None = None
    in_stream: bool = False
    delay: float = 0.0
    kind: Literal["error"] = field(default="error", kw_only=True)


@dataclass(frozen=True)
class Malformed:
    """An unparseable SSE event after the first `after` events; a JSON request gets a truncated body."""

    after: int = 1
    reply: Reply = Text("This stream carries a broken chunk.")
    delay: float = 0.0
    kind: Literal["malformed"] = field(default="malformed", kw_only=True)


@dataclass(frozen=True)
class Cut:
    """The connection closes after `after` events (never the terminating one): no [DONE]/message_stop.

    A JSON request gets half its body and then the close.
    """

    after: int = 2
    reply: Reply = Text("This answer is cut off in the middle of a sentence.")
    delay: float = 0.0
    kind: Literal["cut"] = field(default="cut", kw_only=True)


@dataclass(frozen=True)
class Stall:
    """Sends headers and the first `after` events, then hangs for `seconds` before finishing normally.

    The hang ends early when the fake shuts down or the client goes away. A JSON request hangs before any
    byte is sent.
    """

    seconds: float = 3600.0
    after: int = 1
    reply: Reply = Text("Sorry, I was stuck.")
    delay: float = 0.0
    kind: Literal["stall"] = field(default="stall", kw_only=True)


@dataclass(frozen=True)
class Transcription:
    """Answer for `POST /v1/audio/transcriptions`; these queue apart from chat turns."""

    text: str
    delay: float = 0.0
    kind: Literal["transcription"] = field(default="transcription", kw_only=True)


Turn = Annotated[
    Text | ToolCalls | Echo | Error | Malformed | Cut | Stall | Transcription,
    Field(discriminator="kind"),
]
ReplyTurn = Text | ToolCalls | Echo
ChatTurn = Text | ToolCalls | Echo | Error | Malformed | Cut | Stall
AudioTurn = Transcription | Error

_TURNS: TypeAdapter[list[Turn]] = TypeAdapter(list[Turn])
_TURN: TypeAdapter[Turn | None] = TypeAdapter(Turn | None)


def turns_to_json(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    return _TURNS.dump_python(list(turns), mode="json")


def turns_from_json(data: Any) -> list[Turn]:
    """Parse turns sent to the control endpoint; raises pydantic.ValidationError naming the bad field."""
    return _TURNS.validate_python(data)


def turn_to_json(turn: Turn | None) -> dict[str, Any] | None:
    return _TURN.dump_python(turn, mode="json")


def turn_from_json(data: Any) -> Turn | None:
    return _TURN.validate_python(data)
