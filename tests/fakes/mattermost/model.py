"""The emulator's records and their wire shapes (server/public/model/*.go, v9.11 JSON tags)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEZONE = {"automaticTimezone": "", "manualTimezone": "", "useAutomaticTimezone": "true"}


def default_user_notify_props() -> dict[str, str]:
    """`User.SetDefaultNotifications` (model/user.go)."""
    return {
        "channel": "true",
        "comments": "never",
        "desktop": "mention",
        "desktop_sound": "true",
        "desktop_threads": "all",
        "email": "true",
        "email_threads": "all",
        "first_name": "false",
        "mention_keys": "",
        "push": "mention",
        "push_status": "away",
        "push_threads": "all",
    }


def default_member_notify_props() -> dict[str, str]:
    """`GetDefaultChannelNotifyProps` (model/channel_member.go)."""
    return {
        "desktop": "default",
        "email": "default",
        "ignore_channel_mentions": "default",
        "mark_unread": "all",
        "push": "default",
    }


@dataclass
class User:
    id: str
    username: str
    create_at: int
    email: str
    first_name: str = ""
    last_name: str = ""
    nickname: str = ""
    position: str = ""
    is_bot: bool = False
    bot_description: str = ""
    roles: str = "system_user"
    notify_props: dict[str, str] = field(default_factory=default_user_notify_props)
    update_at: int = 0
    delete_at: int = 0

    def to_json(self, *, as_self: bool) -> dict[str, Any]:
        """`Sanitize` for the user themself, `SanitizeProfile` for anyone else (api4/user.go getUser)."""
        out: dict[str, Any] = {
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.update_at or self.create_at,
            "delete_at": self.delete_at,
            "username": self.username,
            "auth_data": "",
            "auth_service": "",
            "email": self.email,
            "nickname": self.nickname,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "position": self.position,
            "roles": self.roles,
            "props": {},
        }
        if as_self:
            out["notify_props"] = dict(self.notify_props)
            out["last_password_update"] = self.create_at
        out["locale"] = "en"
        out["timezone"] = dict(DEFAULT_TIMEZONE)
        if self.is_bot:
            out["is_bot"] = True
            if self.bot_description:
                out["bot_description"] = self.bot_description
        out["disable_welcome_email"] = False
        return out


@dataclass
class Team:
    id: str
    name: str
    display_name: str
    create_at: int
    type: str = "O"

    def to_json(self) -> dict[str, Any]:
        """Team as a non-admin member sees it: email and invite_id sanitized away."""
        return {
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.create_at,
            "delete_at": 0,
            "display_name": self.display_name,
            "name": self.name,
            "description": "",
            "email": "",
            "type": self.type,
            "company_name": "",
            "allowed_domains": "",
            "invite_id": "",
            "allow_open_invite": False,
            "scheme_id": None,
            "group_constrained": None,
            "policy_id": None,
            "cloud_limits_archived": False,
        }


@dataclass
class Member:
    """A channel membership; `notify_props` are the channel-level ones."""

    user_id: str
    channel_id: str
    joined_at: int
    notify_props: dict[str, str] = field(default_factory=default_member_notify_props)

    def to_json(self) -> dict[str, Any]:
        return {
            "channel_id": self.channel_id,
            "user_id": self.user_id,
            "roles": "channel_user",
            "last_viewed_at": 0,
            "msg_count": 0,
            "mention_count": 0,
            "mention_count_root": 0,
            "urgent_mention_count": 0,
            "msg_count_root": 0,
            "notify_props": dict(self.notify_props),
            "last_update_at": self.joined_at,
            "scheme_guest": False,
            "scheme_user": True,
            "scheme_admin": False,
            "explicit_roles": "",
        }


@dataclass
class Channel:
    id: str
    type: str
    team_id: str
    name: str
    display_name: str
    creator_id: str
    create_at: int
    header: str = ""
    purpose: str = ""
    delete_at: int = 0
    last_post_at: int = 0
    last_root_post_at: int = 0
    total_msg_count: int = 0
    total_msg_count_root: int = 0
    members: dict[str, Member] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.create_at,
            "delete_at": self.delete_at,
            "team_id": self.team_id,
            "type": self.type,
            "display_name": self.display_name,
            "name": self.name,
            "header": self.header,
            "purpose": self.purpose,
            "last_post_at": self.last_post_at,
            "total_msg_count": self.total_msg_count,
            "extra_update_at": 0,
            "creator_id": self.creator_id,
            "scheme_id": None,
            "props": None,
            "group_constrained": None,
            "shared": None,
            "total_msg_count_root": self.total_msg_count_root,
            "policy_id": None,
            "last_root_post_at": self.last_root_post_at,
        }


def direct_channel_name(a: str, b: str) -> str:
    """`GetDMNameFromIds`: the two ids, smaller first, joined by a double underscore."""
    first, second = sorted((a, b))
    return f"{first}__{second}"


def group_channel_name(user_ids: list[str]) -> str:
    """`GetGroupNameFromUserIds`: sha1 hex of the sorted, concatenated ids."""
    return hashlib.sha1("".join(sorted(user_ids)).encode()).hexdigest()


@dataclass
class FileInfo:
    id: str
    user_id: str
    channel_id: str
    name: str
    extension: str
    size: int
    mime_type: str
    create_at: int
    data: bytes
    post_id: str = ""
    width: int = 0
    height: int = 0

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "user_id": self.user_id}
        if self.post_id:
            out["post_id"] = self.post_id
        out |= {
            "channel_id": self.channel_id,
            "create_at": self.create_at,
            "update_at": self.create_at,
            "delete_at": 0,
            "name": self.name,
            "extension": self.extension,
            "size": self.size,
            "mime_type": self.mime_type,
        }
        if self.width:
            out |= {"width": self.width, "height": self.height, "has_preview_image": True}
        out |= {"mini_preview": None, "remote_id": None, "archived": False}
        return out


@dataclass
class Reaction:
    user_id: str
    post_id: str
    emoji_name: str
    channel_id: str
    create_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "post_id": self.post_id,
            "emoji_name": self.emoji_name,
            "create_at": self.create_at,
            "update_at": self.create_at,
            "delete_at": 0,
            "remote_id": None,
            "channel_id": self.channel_id,
        }


@dataclass
class Post:
    """A stored post. Edit history rows are posts too: deleted, with `original_id` naming the edited post."""

    id: str
    channel_id: str
    user_id: str
    message: str
    create_at: int
    update_at: int
    root_id: str = ""
    type: str = ""
    props: dict[str, Any] = field(default_factory=dict)
    file_ids: list[str] = field(default_factory=list)
    hashtags: str = ""
    edit_at: int = 0
    delete_at: int = 0
    is_pinned: bool = False
    original_id: str = ""
    has_reactions: bool = False

    @property
    def is_system(self) -> bool:
        return self.type.startswith("system_")
