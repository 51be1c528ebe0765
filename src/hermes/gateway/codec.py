"""Inbound events as stored in the inbox, so accepted-but-unanswered events survive a restart."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hermes.platforms.base import Attachment, ChatRef, Inbound


def to_payload(inbound: Inbound) -> dict[str, Any]:
    return asdict(inbound)


def from_payload(payload: dict[str, Any]) -> Inbound:
    fields = dict(payload)
    fields["chat"] = ChatRef(**fields["chat"])
    fields["attachments"] = tuple(Attachment(**item) for item in fields.get("attachments", ()))
    return Inbound(**fields)
