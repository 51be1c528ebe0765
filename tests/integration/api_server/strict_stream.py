"""The chat-completions stream as the typed third-party client (hermes-agent-api-client 0.3.3) checks it,
rule by rule from API-CONTRACT §6.6: a stream this accepts is one that client accepts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_VISIBLE = re.compile(r"[\x21-\x7e]{1,256}")
_ALLOWED_EVENTS = {None, "", "message", "hermes.tool.progress"}
_FINISH = {"stop", "length", "error", None}


class ProtocolError(AssertionError):
    pass


@dataclass
class Outcome:
    text: str = ""
    terminal: str | None = None
    hermes: dict[str, Any] | None = None
    usage: dict[str, int] | None = None
    progress: list[dict[str, Any]] = field(default_factory=list)
    keepalives: int = 0
    done: bool = False


def _strict_json(data: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ProtocolError(f"duplicate member names in {data[:80]}")
        return dict(pairs)

    try:
        return json.loads(data, object_pairs_hook=no_duplicates)
    except ValueError as exc:
        raise ProtocolError(f"data is not JSON: {data[:80]}") from exc


def _records(body: bytes) -> list[tuple[str | None, list[str], bool]]:
    text = body.decode("utf-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n\n"):
        raise ProtocolError("the body does not end with a blank line")
    records = []
    for block in text[:-2].split("\n\n"):
        event, data, comment = None, [], False
        for line in block.split("\n"):
            if len(line.encode()) > 256 * 1024:
                raise ProtocolError("line longer than 256 KiB")
            if line.startswith(":"):
                comment = True
            elif line.startswith("event:"):
                event = line[6:].removeprefix(" ")
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        records.append((event, data, comment and not data))
    return records


def _int_usage(usage: Any) -> dict[str, int] | None:
    if usage is None:
        return None
    if not isinstance(usage, dict):
        raise ProtocolError("usage is not an object")
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = usage.get(name)
        if type(value) is not int or value < 0:
            raise ProtocolError(f"usage.{name} is not a non-negative integer")
    return usage


def _check_terminal(finish: str | None, hermes: Any) -> None:
    if hermes is None:
        if finish == "error":
            raise ProtocolError("an error finish needs a hermes block")
        return
    if not isinstance(hermes, dict):
        raise ProtocolError("hermes must be an object")
    for name in ("completed", "failed", "partial"):
        if name in hermes and type(hermes[name]) is not bool:
            raise ProtocolError(f"hermes.{name} must be a boolean")
    if "error_code" in hermes and not _VISIBLE.fullmatch(str(hermes["error_code"])):
        raise ProtocolError("hermes.error_code must be visible ASCII")
    completed, failed, partial = hermes.get("completed"), hermes.get("failed"), hermes.get("partial")
    code = hermes.get("error_code")
    if finish is None:
        if any(name in hermes for name in ("completed", "failed", "partial", "error_code")):
            raise ProtocolError("a non-terminal chunk carries terminal flags")
    elif finish == "stop":
        if completed is False or failed is True or partial is True or code is not None:
            raise ProtocolError(f"stop with hermes {hermes}")
    elif finish == "length":
        if completed is True or failed is True or partial is False or code not in (None, "output_truncated"):
            raise ProtocolError(f"length with hermes {hermes}")
    elif finish == "error" and (completed is True or failed is False or "partial" not in hermes):
        raise ProtocolError(f"error with hermes {hermes}")


def check_stream(body: bytes) -> Outcome:
    outcome = Outcome()
    for event, data, is_comment in _records(body):
        if outcome.done:
            raise ProtocolError("a record after [DONE]")
        if is_comment:
            outcome.keepalives += 1
            continue
        if not data:
            continue
        if event not in _ALLOWED_EVENTS:
            raise ProtocolError(f"unknown event name {event!r}")
        joined = "\n".join(data)
        if len(joined) > 65_536:
            raise ProtocolError("record data longer than 65,536 characters")
        if joined == "[DONE]":
            outcome.done = True
            continue
        payload = _strict_json(joined)
        if event == "hermes.tool.progress":
            for name in ("toolCallId", "tool"):
                if not isinstance(payload.get(name), str) or not _VISIBLE.fullmatch(payload[name]):
                    raise ProtocolError(f"tool progress {name} is not 1-256 visible ASCII")
            if payload.get("status") not in ("running", "completed"):
                raise ProtocolError(f"tool progress status {payload.get('status')!r}")
            outcome.progress.append(payload)
            continue
        if outcome.terminal is not None:
            raise ProtocolError("a chunk after the terminal chunk")
        choices = payload.get("choices")
        if not isinstance(choices, list) or len(choices) != 1:
            raise ProtocolError("a chunk without exactly one choice")
        [choice] = choices
        if not isinstance(choice.get("delta"), dict) or "finish_reason" not in choice:
            raise ProtocolError("a choice without delta or finish_reason")
        delta, finish = choice["delta"], choice["finish_reason"]
        if finish not in _FINISH:
            raise ProtocolError(f"finish_reason {finish!r}")
        if delta.get("role") not in (None, "assistant"):
            raise ProtocolError("delta.role is not assistant")
        content = delta.get("content")
        if content is not None and not isinstance(content, str):
            raise ProtocolError("delta.content is not a string")
        usage = _int_usage(payload.get("usage"))
        if not content and usage is None and finish is None and delta.get("role") != "assistant":
            raise ProtocolError("a chunk that produces nothing")
        _check_terminal(finish, payload.get("hermes"))
        outcome.text += content or ""
        if usage is not None:
            outcome.usage = usage
        if finish is not None:
            outcome.terminal = finish
            outcome.hermes = payload.get("hermes")
    if outcome.terminal is None and not outcome.done:
        raise ProtocolError("the stream ended without a terminal")
    return outcome
