"""The body of `POST /v1/chat/completions`, checked by hand: plain type checks cost a few microseconds
where building a model per request would cost more than the rest of the hot path. Every refusal names the
field, as OpenAI does in `param`.

Read: `model` (never refused: any JSON value is echoed back, an absent one is the advertised name),
`messages`, `stream`, `stream_options.include_usage`. Accepted and ignored: sampling and
length settings (`temperature`, `max_tokens`, `top_p`, ...), `tools`, `n`, `user` — the agent uses its own
configuration for those.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hermes.agent.contract import ChatMessage, ImageInput, Role
from hermes.platforms.api_server.errors import ApiError, bad_request

_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}
_ROLE_NAMES = "'system', 'developer', 'user', 'assistant' or 'tool'"


@dataclass(frozen=True, slots=True)
class ChatCall:
    model: Any
    messages: tuple[ChatMessage, ...]
    stream: bool
    include_usage: bool

    @property
    def last(self) -> ChatMessage:
        """The new user message (the parser guarantees the last message is one)."""
        return self.messages[-1]

    @property
    def system_text(self) -> str | None:
        parts = [m.content for m in self.messages if m.role == "system" and m.content]
        return "\n\n".join(parts) if parts else None


def parse_chat_call(raw: bytes, default_model: str) -> ChatCall:
    """Raises `ApiError` (400) naming the first bad field."""
    data = _json(raw)
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    model = data.get("model", default_model)
    items = data.get("messages")
    if items is None:
        raise bad_request("Missing required parameter: 'messages'.", "messages")
    if not isinstance(items, list) or not items:
        raise bad_request("`messages` must be a non-empty array of messages.", "messages")
    messages = tuple(_message(item, index) for index, item in enumerate(items))
    if messages[-1].role != "user":
        where = f"messages[{len(items) - 1}]"
        raise bad_request(f"The last message must have role 'user'; {where} is '{messages[-1].role}'.", where)
    stream = data.get("stream")
    if stream is None:
        stream = False
    elif not isinstance(stream, bool):
        raise bad_request("`stream` must be true or false.", "stream")
    return ChatCall(model, messages, stream, _include_usage(data.get("stream_options")))


async def read_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body; 400 for anything else (an empty body is an empty object)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    data = _json(raw)
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


def _json(raw: bytes) -> Any:
    if not raw:
        raise bad_request("The request has no body; send a JSON object.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request(
            "We could not parse the JSON body of your request: it is not valid JSON (UTF-8)."
        ) from None


def _include_usage(options: Any) -> bool:
    if options is None:
        return False
    if not isinstance(options, dict):
        raise bad_request("`stream_options` must be an object.", "stream_options")
    include = options.get("include_usage")
    if include is None:
        return False
    if not isinstance(include, bool):
        raise bad_request("`stream_options.include_usage` must be true or false.", "stream_options")
    return include


def _message(item: Any, index: int) -> ChatMessage:
    where = f"messages[{index}]"
    if not isinstance(item, dict):
        raise bad_request(f"`{where}` must be an object with `role` and `content`.", where)
    role = _ROLES.get(given) if isinstance(given := item.get("role"), str) else None
    if role is None:
        raise bad_request(f"`{where}.role` must be {_ROLE_NAMES}.", f"{where}.role")
    content = item.get("content")
    text: str | None
    images: tuple[ImageInput, ...]
    if type(content) is str:
        text, images = content, ()
    else:
        text, images = _parts(content, where, allow_images=role == "user")
    if role == "assistant":
        calls = _tool_calls(item.get("tool_calls"), where)
        if not calls and not (text and text.strip()):
            raise bad_request(f"`{where}.content` must not be empty.", f"{where}.content")
        return ChatMessage("assistant", text, tool_calls=calls)
    if role == "tool":
        call_id = item.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise bad_request(f"`{where}.tool_call_id` must be a non-empty string.", f"{where}.tool_call_id")
        return ChatMessage("tool", text or "", tool_call_id=call_id)
    if not images and not (text and text.strip()):
        raise bad_request(f"`{where}.content` must not be empty.", f"{where}.content")
    return ChatMessage(role, text, images=images)


def _parts(content: Any, where: str, *, allow_images: bool) -> tuple[str | None, tuple[ImageInput, ...]]:
    if content is None:
        return None, ()
    if not isinstance(content, list):
        raise bad_request(
            f"`{where}.content` must be a string or an array of content parts.", f"{where}.content"
        )
    texts: list[str] = []
    images: list[ImageInput] = []
    for index, part in enumerate(content):
        at = f"{where}.content[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise bad_request(f"`{at}.text` must be a string.", f"{at}.text")
            texts.append(text)
        elif kind == "image_url" and allow_images:
            images.append(decode_image(part.get("image_url"), f"{at}.image_url"))
        elif kind == "image_url":
            raise bad_request(f"`{at}`: only user messages may carry images.", at)
        else:
            raise bad_request(f"`{at}.type` must be 'text' or 'image_url'.", f"{at}.type")
    return ("\n".join(texts) if texts else None), tuple(images)


def decode_image(value: Any, at: str) -> ImageInput:
    url = value.get("url") if isinstance(value, dict) else value
    if not isinstance(url, str):
        raise bad_request(f"`{at}.url` must be a string.", f"{at}.url")
    header, comma, payload = url.partition(",")
    if not (url.startswith("data:image/") and comma and header.endswith(";base64")):
        raise bad_request(
            f"`{at}.url` must be a base64 data URL (data:image/...;base64,...); the server fetches no URLs.",
            f"{at}.url",
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"`{at}.url` holds invalid base64.", f"{at}.url") from None
    return ImageInput(header[len("data:") : -len(";base64")], data)


def _tool_calls(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise bad_request(f"`{where}.tool_calls` must be an array.", f"{where}.tool_calls")
    calls = []
    for index, call in enumerate(value):
        at = f"{where}.tool_calls[{index}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise _field(at, "an object with `id` and `function`")
        call_id, name, arguments = call.get("id"), function.get("name"), function.get("arguments", "")
        if not isinstance(call_id, str) or not call_id:
            raise _field(f"{at}.id", "a non-empty string")
        if not isinstance(name, str) or not name:
            raise _field(f"{at}.function.name", "a non-empty string")
        if not isinstance(arguments, str):
            raise _field(f"{at}.function.arguments", "a string of JSON")
        calls.append({"id": call_id, "name": name, "arguments": arguments})
    return tuple(calls)


def _field(at: str, what: str) -> ApiError:
    return bad_request(f"`{at}` must be {what}.", at)
