"""What both API renderers share: a reply resolved against its request, and the contract they implement."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .recording import Api


@dataclass(frozen=True)
class ResolvedUsage:
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


@dataclass(frozen=True)
class ResolvedCall:
    id: str
    name: str
    arguments: str
    pieces: list[str]


@dataclass(frozen=True)
class Answer:
    """A reply turn made concrete for one request: final text, ids, stream pieces and usage numbers."""

    text: str
    text_pieces: list[str]
    calls: list[ResolvedCall]
    truncated: bool
    usage: ResolvedUsage


@dataclass(frozen=True)
class Context:
    response_id: str
    model: str
    created: int
    include_usage: bool


class Wire(Protocol):
    """One API's wire format: request checks, JSON bodies, SSE events and error envelopes."""

    api: Api
    call_id_prefix: str
    request_id_header: str

    def validate(self, body: Any, headers: Mapping[str, str]) -> str | None:
        """Returns the API's error message for a request it would reject with 400, else None."""
        ...

    def error_body(
        self, status: int, message: str | None, error_type: str | None, code: str | None
    ) -> dict: ...

    def json_body(self, answer: Answer, ctx: Context) -> dict[str, Any]: ...

    def events(self, answer: Answer, ctx: Context) -> list[bytes]:
        """The whole SSE stream, one encoded event per item, the terminating event last."""
        ...

    def malformed_event(self) -> bytes: ...

    def error_event(
        self, status: int, message: str | None, error_type: str | None, code: str | None
    ) -> bytes: ...


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def sse(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()
