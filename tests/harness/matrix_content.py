"""Event contents as a person's Matrix client sends them (text, relations, edits, media).

Pure builders, so a test can also construct the content it expects the bot to produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HTML = "org.matrix.custom.html"


def text_content(
    body: str,
    *,
    formatted_body: str | None = None,
    mentions: Sequence[str] | None = None,
    relates_to: dict[str, Any] | None = None,
    msgtype: str = "m.text",
) -> dict[str, Any]:
    content: dict[str, Any] = {"msgtype": msgtype, "body": body}
    if formatted_body is not None:
        content["format"] = HTML
        content["formatted_body"] = formatted_body
    if mentions is not None:
        content["m.mentions"] = {"user_ids": list(mentions)}
    if relates_to is not None:
        content["m.relates_to"] = relates_to
    return content


def reply_relation(event_id: str | None) -> dict[str, Any] | None:
    return {"m.in_reply_to": {"event_id": event_id}} if event_id else None


def thread_relation(thread_root: str, reply_to: str | None = None) -> dict[str, Any]:
    """In ``thread_root``'s thread; without ``reply_to``, in-reply-to is only a fallback for old clients."""
    return {
        "rel_type": "m.thread",
        "event_id": thread_root,
        "is_falling_back": reply_to is None,
        "m.in_reply_to": {"event_id": reply_to or thread_root},
    }


def edit_content(event_id: str, new_body: str) -> dict[str, Any]:
    content = text_content(f"* {new_body}", relates_to={"rel_type": "m.replace", "event_id": event_id})
    content["m.new_content"] = text_content(new_body)
    return content


def reaction_content(event_id: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


def media_content(
    msgtype: str,
    filename: str,
    mimetype: str,
    size: int,
    *,
    width: int | None = None,
    height: int | None = None,
) -> dict[str, Any]:
    """A media message without its location: add ``url`` (plain) or ``file`` (encrypted attachment)."""
    info: dict[str, Any] = {"mimetype": mimetype, "size": size}
    info.update({key: value for key, value in (("w", width), ("h", height)) if value is not None})
    return {"msgtype": msgtype, "body": filename, "info": info}
