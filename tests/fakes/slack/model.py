"""The workspace the emulator holds: users, conversations, messages, files. Plain data, no I/O."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

_counter = itertools.count(1)


def new_id(prefix: str) -> str:
    """Slack-shaped ids: a type letter and upper-case alphanumerics (`U0A1B2C3D`)."""
    return f"{prefix}{next(_counter):08X}"


@dataclass
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    bot_id: str | None = None

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.real_name,
            "is_bot": self.is_bot,
            "deleted": False,
            "profile": {"display_name": self.name, "real_name": self.real_name},
        }


TEAM_ID = "T0EMULATE"
TEAM_NAME = "emulated"
APP_ID = "A0EMULATE"


@dataclass
class File:
    id: str
    name: str
    mimetype: str
    data: bytes
    user: str
    title: str = ""
    shared_in: set[str] = field(default_factory=set)
    completed: bool = False

    def json(self, base: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": self.mimetype,
            "size": len(self.data),
            "user": self.user,
            "url_private": f"{base}files-pri/{TEAM_ID}-{self.id}/{self.name}",
            "url_private_download": f"{base}files-pri/{TEAM_ID}-{self.id}/download/{self.name}",
        }


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str
    thread_ts: str | None = None
    bot_id: str | None = None
    blocks: list[dict[str, Any]] | None = None
    files: list[str] = field(default_factory=list)
    edited_ts: str | None = None
    replies: list[str] = field(default_factory=list)  # ts of the replies, for a thread's parent
    reactions: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class Conversation:
    id: str
    name: str
    kind: str  # "im" | "mpim" | "channel" | "group" (private)
    members: set[str]
    messages: dict[str, Message] = field(default_factory=dict)  # by ts, in insertion (= ts) order

    @property
    def channel_type(self) -> str:
        return self.kind

    def json(self) -> dict[str, Any]:
        is_im = self.kind == "im"
        return {
            "id": self.id,
            "name": None if is_im else self.name,
            "is_channel": self.kind == "channel",
            "is_group": self.kind == "group",
            "is_im": is_im,
            "is_mpim": self.kind == "mpim",
            "is_private": self.kind != "channel",
            "is_archived": False,
            **({"user": self.name} if is_im else {}),
        }


class Clock:
    """Message timestamps: wall-clock seconds with a 6-digit suffix, strictly increasing, so that `ts`
    orders messages the way Slack's do (and is unique in every channel)."""

    def __init__(self) -> None:
        self._last = 0

    def next_ts(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
