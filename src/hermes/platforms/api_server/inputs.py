"""The `input` of `/v1/responses` and `/v1/runs` (and `conversation_history`), checked by hand like the
chat body: a string, or an array of strings and `{role, content}` items whose last one is the new turn.
Content is a string or an array of parts (`text`/`input_text`/`output_text`, `input_image`/`image_url`
as data URLs). Every refusal is a 400 naming the item."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hermes.agent.contract import ChatMessage, ImageInput
from hermes.platforms.api_server.body import decode_image
from hermes.platforms.api_server.errors import ApiError, bad_request

_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_TEXT_PARTS = {"text", "input_text", "output_text"}
_IMAGE_PARTS = {"input_image", "image_url"}


@dataclass(frozen=True)
class TurnInput:
    text: str
    images: tuple[ImageInput, ...]
    history: tuple[ChatMessage, ...]

    @property
    def system_text(self) -> str | None:
        parts = [m.content for m in self.history if m.role == "system" and m.content]
        return "\n\n".join(parts) if parts else None

    @property
    def conversation(self) -> tuple[ChatMessage, ...]:
        return tuple(m for m in self.history if m.role != "system")


def parse_input(value: Any, param: str = "input") -> TurnInput:
    if value is None:
        raise bad_request(f"Missing '{param}' field.", param)
    if isinstance(value, str):
        if not value.strip():
            raise bad_request(f"`{param}` must not be empty.", param)
        return TurnInput(value, (), ())
    if not isinstance(value, list) or not value:
        raise bad_request(f"`{param}` must be a string or a non-empty array of messages.", param)
    messages = [_item(item, f"{param}[{index}]") for index, item in enumerate(value)]
    last = messages[-1]
    if last.role != "user" or not ((last.content or "").strip() or last.images):
        raise bad_request(f"The last item of `{param}` must be the user's message, with content.", param)
    return TurnInput(last.content or "", last.images, tuple(messages[:-1]))


def parse_history(value: Any, param: str = "conversation_history") -> tuple[ChatMessage, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise bad_request(f"`{param}` must be an array of messages.", param)
    return tuple(_item(item, f"{param}[{index}]") for index, item in enumerate(value))


def _item(item: Any, where: str) -> ChatMessage:
    if isinstance(item, str):
        return ChatMessage("user", item)
    if not isinstance(item, dict):
        raise bad_request(f"`{where}` must be a string or an object with `role` and `content`.", where)
    role = _ROLES.get(item.get("role", "user")) if isinstance(item.get("role", "user"), str) else None
    if role is None:
        raise bad_request(
            f"`{where}.role` must be 'user', 'assistant', 'system' or 'developer'.", f"{where}.role"
        )
    text, images = _content(item.get("content"), f"{where}.content")
    if images and role != "user":
        raise bad_request(f"`{where}`: only user messages may carry images.", where)
    return ChatMessage(role, text, images=images)  # type: ignore[arg-type]


def _content(content: Any, where: str) -> tuple[str, tuple[ImageInput, ...]]:
    if isinstance(content, str):
        return content, ()
    if not isinstance(content, list):
        raise bad_request(f"`{where}` must be a string or an array of content parts.", where)
    texts: list[str] = []
    images: list[ImageInput] = []
    for index, part in enumerate(content):
        at = f"{where}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS:
            text = part.get("text")
            if not isinstance(text, str):
                raise bad_request(f"`{at}.text` must be a string.", f"{at}.text")
            texts.append(text)
        elif kind in _IMAGE_PARTS:
            images.append(decode_image(part.get("image_url"), f"{at}.image_url"))
        else:
            raise ApiError(
                400,
                f"`{at}.type` must be a text or image part.",
                param=f"{at}.type",
                code="unsupported_content_type",
            )
    return "\n".join(texts), tuple(images)
