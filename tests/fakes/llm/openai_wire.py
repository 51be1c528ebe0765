"""OpenAI Chat Completions on the wire: bodies, `chat.completion.chunk` events and error envelopes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .recording import Api
from .wire import Answer, Context, ResolvedUsage, sse

# (type, code, message) the real API sends for each status.
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class OpenAIWire:
    api: Api = "openai"
    call_id_prefix = "call_"
    request_id_header = "x-request-id"

    def validate(self, body: Any, headers: Mapping[str, str]) -> str | None:
        if not isinstance(body, dict):
            return "We could not parse the JSON body of your request."
        if not isinstance(body.get("model"), str) or not body["model"]:
            return "you must provide a model parameter"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "Invalid 'messages': empty array. Expected an array with minimum length 1."
        problem = _check_messages(messages)
        if problem:
            return problem
        tools = body.get("tools") or []
        if not isinstance(tools, list):
            return "Invalid type for 'tools': expected an array of objects."
        for i, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, dict) else None
            name = function.get("name") if isinstance(function, dict) else None
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                return (
                    f"Invalid 'tools[{i}].function.name': string does not match pattern. "
                    "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
                )
        return None

    def error_body(self, status: int, message: str | None, error_type: str | None, code: str | None) -> dict:
        default_type, default_code, default_message = _ERRORS.get(
            status, _ERRORS[500 if status >= 500 else 400]
        )
        return {
            "error": {
                "message": message or default_message,
                "type": error_type or default_type,
                "param": None,
                "code": code if code is not None else default_code,
            }
        }

    def json_body(self, answer: Answer, ctx: Context) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": answer.text if answer.text or not answer.calls else None,
            "refusal": None,
            "annotations": [],
        }
        if answer.calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in answer.calls
            ]
        return {
            "id": ctx.response_id,
            "object": "chat.completion",
            "created": ctx.created,
            "model": ctx.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(answer)}],
            "usage": _usage(answer.usage),
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }

    def events(self, answer: Answer, ctx: Context) -> list[bytes]:
        # With include_usage every chunk carries "usage": null; a last chunk without choices has the numbers.
        base: dict[str, Any] = {
            "id": ctx.response_id,
            "object": "chat.completion.chunk",
            "created": ctx.created,
            "model": ctx.model,
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }
        if ctx.include_usage:
            base["usage"] = None

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return sse({**base, "choices": [choice]})

        first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        out = [chunk(first)]
        out.extend(chunk({"content": piece}) for piece in answer.text_pieces)
        for index, call in enumerate(answer.calls):
            opening = {"index": index, "id": call.id, "type": "function"}
            opening["function"] = {"name": call.name, "arguments": ""}
            out.append(chunk({"tool_calls": [opening]}))
            out.extend(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                for piece in call.pieces
            )
        out.append(chunk({}, _finish(answer)))
        if ctx.include_usage:
            out.append(sse({**base, "choices": [], "usage": _usage(answer.usage)}))
        out.append(b"data: [DONE]\n\n")
        return out

    def malformed_event(self) -> bytes:
        return b'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"delta":\n\n'

    def error_event(
        self, status: int, message: str | None, error_type: str | None, code: str | None
    ) -> bytes:
        return sse(self.error_body(status, message, error_type, code))


def _finish(answer: Answer) -> str:
    if answer.truncated:
        return "length"
    return "tool_calls" if answer.calls else "stop"


def _usage(usage: ResolvedUsage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _check_messages(messages: list[Any]) -> str | None:
    """The ordering rules the real API enforces around tool calls, with its own wording."""
    awaiting: list[str] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            role = message.get("role") if isinstance(message, dict) else None
            return (
                f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
                f"'function', 'tool', and 'developer'. (messages[{i}].role)"
            )
        role = message["role"]
        if role == "tool":
            if message.get("tool_call_id") not in awaiting:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    "message with 'tool_calls'."
                )
            awaiting.remove(message["tool_call_id"])
            continue
        if awaiting:
            return _unanswered(awaiting)
        calls = message.get("tool_calls") if role == "assistant" else None
        if isinstance(calls, list):
            awaiting = [c.get("id") for c in calls if isinstance(c, dict)]
    return _unanswered(awaiting) if awaiting else None


def _unanswered(ids: list[str]) -> str:
    listed = ", ".join(map(str, ids))
    return (
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        f"'tool_call_id'. The following tool_call_ids did not have response messages: {listed}"
    )
