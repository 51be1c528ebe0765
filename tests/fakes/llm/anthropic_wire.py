"""Anthropic Messages on the wire: bodies, the SSE event sequence and `{"type":"error"}` envelopes."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .recording import Api
from .wire import Answer, Context, ResolvedUsage, sse

_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_MAX_CACHE_BREAKPOINTS = 4


class AnthropicWire:
    api: Api = "anthropic"
    call_id_prefix = "toolu_"
    request_id_header = "request-id"

    def validate(self, body: Any, headers: Mapping[str, str]) -> str | None:
        if "anthropic-version" not in headers:
            return "anthropic-version: header is required"
        if not isinstance(body, dict):
            return "There was an error parsing the body of your request."
        for name, kind in (("model", str), ("max_tokens", int), ("messages", list)):
            if not isinstance(body.get(name), kind):
                return f"{name}: Field required" if name not in body else f"{name}: Input has the wrong type"
        if not body["messages"]:
            return "messages: at least one message is required"
        problem = _check_messages(body["messages"])
        if problem:
            return problem
        tools = body.get("tools") or []
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for i, tool in enumerate(tools):
            name = tool.get("name") if isinstance(tool, dict) else None
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                return f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
        found = _count_cache_control(body.get("system")) + _count_cache_control(body.get("tools"))
        found += _count_cache_control(body["messages"])
        if found > _MAX_CACHE_BREAKPOINTS:
            limit = _MAX_CACHE_BREAKPOINTS
            return f"A maximum of {limit} blocks with cache_control may be provided. Found {found}."
        return None

    def error_body(self, status: int, message: str | None, error_type: str | None, code: str | None) -> dict:
        default_type, default_message = _ERRORS.get(status, _ERRORS[500 if status >= 500 else 400])
        return {
            "type": "error",
            "error": {"type": error_type or default_type, "message": message or default_message},
        }

    def json_body(self, answer: Answer, ctx: Context) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if answer.text or not answer.calls:
            content.append({"type": "text", "text": answer.text})
        for call in answer.calls:
            content.append(
                {"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call.arguments)}
            )
        return {
            **_message_head(ctx),
            "content": content,
            "stop_reason": _stop_reason(answer),
            "stop_sequence": None,
            "usage": _usage(answer.usage, answer.usage.completion_tokens),
        }

    def events(self, answer: Answer, ctx: Context) -> list[bytes]:
        start = {**_message_head(ctx), "content": [], "stop_reason": None, "stop_sequence": None}
        start["usage"] = _usage(answer.usage, 1)
        out = [sse({"type": "message_start", "message": start}, "message_start")]
        index = 0
        if answer.text or not answer.calls:
            out.append(_block_start(index, {"type": "text", "text": ""}))
            out.append(sse({"type": "ping"}, "ping"))
            out.extend(_delta(index, {"type": "text_delta", "text": piece}) for piece in answer.text_pieces)
            out.append(_block_stop(index))
            index += 1
        for call in answer.calls:
            out.append(
                _block_start(index, {"type": "tool_use", "id": call.id, "name": call.name, "input": {}})
            )
            out.extend(
                _delta(index, {"type": "input_json_delta", "partial_json": piece})
                for piece in ["", *call.pieces]
            )
            out.append(_block_stop(index))
            index += 1
        delta = {"stop_reason": _stop_reason(answer), "stop_sequence": None}
        usage = _usage(answer.usage, answer.usage.completion_tokens)
        out.append(sse({"type": "message_delta", "delta": delta, "usage": usage}, "message_delta"))
        out.append(sse({"type": "message_stop"}, "message_stop"))
        return out

    def malformed_event(self) -> bytes:
        return (
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":\n\n'
        )

    def error_event(
        self, status: int, message: str | None, error_type: str | None, code: str | None
    ) -> bytes:
        return sse(self.error_body(status, message, error_type, code), "error")


def _message_head(ctx: Context) -> dict[str, Any]:
    return {"id": ctx.response_id, "type": "message", "role": "assistant", "model": ctx.model}


def _block_start(index: int, block: dict[str, Any]) -> bytes:
    return sse({"type": "content_block_start", "index": index, "content_block": block}, "content_block_start")


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")


def _block_stop(index: int) -> bytes:
    return sse({"type": "content_block_stop", "index": index}, "content_block_stop")


def _stop_reason(answer: Answer) -> str:
    if answer.truncated:
        return "max_tokens"
    return "tool_use" if answer.calls else "end_turn"


def _usage(usage: ResolvedUsage, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": usage.prompt_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "output_tokens": output_tokens,
    }


def _input(arguments: str) -> Any:
    # The real API only ever returns an object here; deliberately broken arguments go out as the raw string.
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def _check_messages(messages: list[Any]) -> str | None:
    """Roles, and the tool_use → tool_result pairing the real API enforces, with its own wording."""
    pending: list[str] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        blocks = message.get("content") if isinstance(message.get("content"), list) else []
        blocks = [b for b in blocks if isinstance(b, dict)]
        results = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
        missing = [tool_id for tool_id in pending if tool_id not in results]
        if missing:
            return (
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{', '.join(map(str, missing))}. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message."
            )
        for j, block in enumerate(blocks):
            tool_id = block.get("tool_use_id")
            if block.get("type") == "tool_result" and tool_id not in pending:
                return (
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{tool_id}. Each `tool_result` block must have a corresponding `tool_use` block in the "
                    "previous message."
                )
        pending = (
            [b.get("id") for b in blocks if b.get("type") == "tool_use"]
            if message["role"] == "assistant"
            else []
        )
    return None


def _count_cache_control(value: Any) -> int:
    if isinstance(value, list):
        return sum(_count_cache_control(item) for item in value)
    if isinstance(value, dict):
        own = 1 if value.get("cache_control") else 0
        return own + _count_cache_control(value.get("content"))
    return 0
