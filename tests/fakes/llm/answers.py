"""Making a reply turn concrete for one request: the echoed text, call ids, stream pieces, usage numbers."""

from __future__ import annotations

import re
from typing import Any

from .recording import last_user_text
from .turns import Echo, ReplyTurn, Text, ToolCalls, Usage
from .wire import Answer, ResolvedCall, ResolvedUsage

_WORDS = re.compile(r"\s*\S+\s*|\s+")
_NO_USAGE = Usage()


def resolve(
    turn: ReplyTurn, body: Any, raw_size: int, call_id_prefix: str, seq: int, stream: bool, instant: bool
) -> Answer:
    """`instant` streams text and arguments in one piece; otherwise text goes word by word unless chunked."""
    calls: list[ResolvedCall] = []
    truncated = False
    if isinstance(turn, Echo):
        text = turn.prefix + (last_user_text(body) or "(empty message)")
    elif isinstance(turn, Text):
        text, truncated = turn.text, turn.truncated
    else:
        text = turn.text
        for i, call in enumerate(turn.calls):
            arguments = call.arguments_json
            pieces = [] if not stream else [arguments] if instant else split_even(arguments, turn.arg_chunks)
            calls.append(
                ResolvedCall(call.id or f"{call_id_prefix}fake{seq:06d}_{i}", call.name, arguments, pieces)
            )
    chunks = None if isinstance(turn, ToolCalls) else turn.chunks
    text_pieces = _pieces(text, chunks, stream, instant)
    completion_chars = len(text) + sum(len(c.arguments) for c in calls)
    return Answer(
        text, text_pieces, calls, truncated, _usage(turn.usage or _NO_USAGE, raw_size, completion_chars)
    )


def split_words(text: str) -> list[str]:
    return _WORDS.findall(text)


def split_even(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    pieces = max(1, min(pieces, len(text)))
    size, extra = divmod(len(text), pieces)
    out, start = [], 0
    for i in range(pieces):
        end = start + size + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out


def estimate_tokens(chars: int) -> int:
    return max(1, chars // 4)


def _pieces(text: str, chunks: int | None, stream: bool, instant: bool) -> list[str]:
    if not stream or not text:
        return []
    if instant:
        return [text]
    return split_words(text) if chunks is None else split_even(text, chunks)


def _usage(usage: Usage, prompt_chars: int, completion_chars: int) -> ResolvedUsage:
    prompt = usage.prompt_tokens if usage.prompt_tokens is not None else estimate_tokens(prompt_chars)
    completion = usage.completion_tokens
    return ResolvedUsage(
        prompt_tokens=prompt,
        completion_tokens=completion if completion is not None else estimate_tokens(completion_chars),
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
