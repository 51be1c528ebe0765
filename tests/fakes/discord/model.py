"""The emulator's objects and their wire forms (the fields discord.py and our adapter read)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .snowflakes import snowflake_ms

# Channel types
GUILD_TEXT = 0
DM = 1
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_FORUM = 15

# Message types
DEFAULT = 0
THREAD_CREATED = 18
REPLY = 19
CHAT_INPUT_COMMAND = 20

# Application flags (developer portal switches for the privileged intents)
GATEWAY_PRESENCE = 1 << 12
GATEWAY_GUILD_MEMBERS = 1 << 14
GATEWAY_MESSAGE_CONTENT = 1 << 18


def iso(snowflake: str) -> str:
    when = dt.datetime.fromtimestamp(snowflake_ms(snowflake) / 1000, dt.UTC)
    return when.isoformat(timespec="microseconds")


@dataclass
class User:
    id: str
    username: str
    token: str
    bot: bool = False
    global_name: str | None = None

    def wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class Guild:
    id: str
    name: str
    owner_id: str
    members: dict[str, list[str]] = field(default_factory=dict)  # user id -> role ids
    roles: dict[str, str] = field(default_factory=dict)  # role id -> name


@dataclass
class Channel:
    id: str
    type: int
    name: str | None
    guild_id: str | None = None
    parent_id: str | None = None
    owner_id: str | None = None
    recipients: list[str] = field(default_factory=list)
    position: int = 0
    archived: bool = False
    message_count: int = 0

    @property
    def is_thread(self) -> bool:
        return self.type in (PUBLIC_THREAD, PRIVATE_THREAD)

    def wire(self, users: dict[str, User]) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type, "last_message_id": None, "flags": 0}
        if self.type == DM:
            data["recipients"] = [users[u].wire() for u in self.recipients if u in users]
            return data
        data.update(guild_id=self.guild_id, name=self.name, position=self.position, parent_id=self.parent_id)
        if self.is_thread:
            data.update(
                owner_id=self.owner_id,
                message_count=self.message_count,
                member_count=1,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": iso(self.id),
                    "locked": False,
                },
            )
        else:
            data.update(topic=None, nsfw=False, permission_overwrites=[], rate_limit_per_user=0)
        return data


@dataclass
class Attachment:
    id: str
    filename: str
    content_type: str
    data: bytes
    url: str

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
        }


@dataclass
class Message:
    id: str
    channel_id: str
    author_id: str
    content: str
    type: int = DEFAULT
    guild_id: str | None = None
    nonce: str | int | None = None
    mentions: list[str] = field(default_factory=list)
    mention_roles: list[str] = field(default_factory=list)
    mention_everyone: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    embeds: list[dict[str, Any]] = field(default_factory=list)
    reference: dict[str, Any] | None = None
    edited: str | None = None
    flags: int = 0
    thread_id: str | None = None
    reactions: dict[str, set[str]] = field(default_factory=dict)  # emoji -> user ids
    interaction_id: str | None = None
    deleted: bool = False
    # Every content this message had, oldest first (edits append).
    history: list[str] = field(default_factory=list)
