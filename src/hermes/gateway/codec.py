"""Inbound events as stored in the inbox, so accepted-but-unanswered events survive a restart."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from hermes.platforms.base import Attachment, ChatRef, Inbound


def to_payload(inbound: Inbound, *, content: bool = True) -> dict[str, Any]:
    """Without `content`, only what exactly-once needs (ids, chat, sender id, time): for events the bot will
    not answer (a stranger's, unaddressed chatter), whose text is not ours to keep."""
    if not content:
        inbound = replace(inbound, text="", sender_name="", attachments=())
    return asdict(inbound)


def from_payload(payload: dict[str, Any]) -> Inbound:
    fields = dict(payload)
    fields["chat"] = ChatRef(**fields["chat"])
    fields["attachments"] = tuple(Attachment(**item) for item in fields.get("attachments", ()))
    return Inbound(**fields)
