"""Everything the emulated Discord knows, and the actions REST handlers and tests share.

Each action validates like the API (the same error codes), changes the state, and publishes the
dispatch events the real gateway would send. Tests act as humans through these same functions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from . import errors
from .interactions import MAX_FILE_BYTES, App, Interaction, InteractionsMixin
from .model import (
    DEFAULT,
    DM,
    GUILD_FORUM,
    GUILD_TEXT,
    PUBLIC_THREAD,
    REPLY,
    THREAD_CREATED,
    Attachment,
    Channel,
    Guild,
    Message,
    User,
    iso,
)
from .snowflakes import SnowflakeMint

MAX_CONTENT = 2000
MAX_NONCE = 25
NONCE_TTL = 300.0
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)\b")
# Links Discord's servers fetch for a preview; one written as <https://...> is the sender's opt-out.
_LINK = re.compile(r"(?<![<\w])https?://[^\s<>()`]+")
SUPPRESS_EMBEDS = 1 << 2

Publish = Callable[[str, dict[str, Any], Channel], None]


class World(InteractionsMixin):
    def __init__(self, publish: Publish) -> None:
        self.mint = SnowflakeMint()
        self.publish = publish
        self.users: dict[str, User] = {}
        self.guilds: dict[str, Guild] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, Message] = {}
        self.interactions: dict[str, Interaction] = {}
        self._nonces: dict[tuple[str, str], tuple[str, float]] = {}
        self.typing: list[tuple[str, str, float]] = []  # (channel, user, monotonic time)
        # Every URL Discord's servers fetched to build a preview (what a link in a message leaks).
        self.unfurled: list[str] = []
        self.bot: User | None = None
        self.app: App | None = None
        self.cdn_base = ""

    # -- setup -----------------------------------------------------------------------------------------

    def create_user(self, username: str, *, bot: bool = False) -> User:
        user_id = self.mint()
        user = User(user_id, username, token=f"{'bot' if bot else 'user'}-{user_id}-token", bot=bot)
        self.users[user.id] = user
        return user

    def create_guild(self, name: str, owner: User, members: list[User]) -> Guild:
        guild = Guild(self.mint(), name, owner.id)
        guild.roles[guild.id] = "@everyone"
        for member in {owner.id: owner, **{m.id: m for m in members}}.values():
            guild.members[member.id] = []
        self.guilds[guild.id] = guild
        return guild

    def create_channel(self, guild: Guild, name: str, type_: int = GUILD_TEXT) -> Channel:
        position = sum(1 for c in self.channels.values() if c.guild_id == guild.id)
        channel = Channel(self.mint(), type_, name, guild_id=guild.id, position=position)
        self.channels[channel.id] = channel
        return channel

    def dm_channel(self, a: User, b: User) -> Channel:
        for channel in self.channels.values():
            if channel.type == DM and set(channel.recipients) == {a.id, b.id}:
                return channel
        channel = Channel(self.mint(), DM, None, recipients=[a.id, b.id])
        self.channels[channel.id] = channel
        return channel

    # -- lookups ---------------------------------------------------------------------------------------

    def user_by_token(self, header: str | None) -> User | None:
        if not header:
            return None
        # Bots send `Bot <token>`; a person's client sends the bare token.
        scheme, _, token = header.partition(" ") if " " in header else ("", "", header)
        for user in self.users.values():
            if user.token == token and ((scheme == "Bot") == user.bot):
                return user
        return None

    def can_see(self, user: User, channel: Channel) -> bool:
        if channel.type == DM:
            return user.id in channel.recipients
        guild = self.guilds.get(channel.guild_id or "")
        return guild is not None and user.id in guild.members

    def channel_for(self, user: User, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise errors.unknown_channel()
        if not self.can_see(user, channel):
            raise errors.missing_access()
        return channel

    def message_in(self, channel: Channel, message_id: str) -> Message:
        message = self.messages.get(message_id)
        if message is None or message.channel_id != channel.id or message.deleted:
            raise errors.unknown_message()
        return message

    def history(self, channel: Channel) -> list[Message]:
        found = [m for m in self.messages.values() if m.channel_id == channel.id and not m.deleted]
        return sorted(found, key=lambda m: int(m.id))

    # -- wire forms ------------------------------------------------------------------------------------

    def content_visible(self, message: Message, viewer: User, has_intent: bool) -> bool:
        """The MESSAGE_CONTENT rules: without the intent, only DMs, the viewer's own messages and
        messages that mention the viewer keep their content."""
        if has_intent or message.author_id == viewer.id or viewer.id in message.mentions:
            return True
        channel = self.channels.get(message.channel_id)
        return channel is not None and channel.type == DM

    def message_wire(self, message: Message, viewer: User | None = None, *, has_intent: bool = True) -> dict:
        author = self.users[message.author_id]
        visible = viewer is None or self.content_visible(message, viewer, has_intent)
        data: dict[str, Any] = {
            "id": message.id,
            "channel_id": message.channel_id,
            "author": author.wire(),
            "content": message.content if visible else "",
            "timestamp": iso(message.id),
            "edited_timestamp": message.edited,
            "tts": False,
            "mention_everyone": message.mention_everyone,
            "mentions": [self.users[u].wire() for u in message.mentions if u in self.users],
            "mention_roles": list(message.mention_roles),
            "attachments": [a.wire() for a in message.attachments] if visible else [],
            "embeds": list(message.embeds) if visible else [],
            "components": [],
            "pinned": False,
            "type": message.type,
            "flags": message.flags,
        }
        if message.nonce is not None:
            data["nonce"] = message.nonce
        if message.reactions:
            data["reactions"] = [
                {
                    "emoji": {"id": None, "name": e},
                    "count": len(who),
                    "me": bool(self.bot and self.bot.id in who),
                }
                for e, who in message.reactions.items()
                if who
            ]
        if message.reference is not None:
            data["message_reference"] = {"type": 0, **message.reference}
            ref = self.messages.get(message.reference["message_id"])
            data["referenced_message"] = (
                None if ref is None or ref.deleted else self.message_wire(ref, viewer, has_intent=has_intent)
            )
        if message.thread_id and message.thread_id in self.channels:
            data["thread"] = self.channels[message.thread_id].wire(self.users)
        return data

    def event_wire(self, message: Message, viewer: User | None = None, *, has_intent: bool = True) -> dict:
        """MESSAGE_CREATE/UPDATE: the message plus `guild_id` and `member` in guilds."""
        data = self.message_wire(message, viewer, has_intent=has_intent)
        if message.guild_id:
            data["guild_id"] = message.guild_id
            roles = self.guilds[message.guild_id].members.get(message.author_id, [])
            data["member"] = {
                "roles": list(roles),
                "joined_at": iso(message.guild_id),
                "deaf": False,
                "mute": False,
            }
        channel = self.channels.get(message.channel_id)
        if channel is not None:
            data["channel_type"] = channel.type
        return data

    # -- actions ---------------------------------------------------------------------------------------

    def create_message(
        self,
        author: User,
        channel_id: str,
        body: dict[str, Any],
        files: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
        *,
        type_: int | None = None,
    ) -> tuple[Message, bool]:
        """POST /channels/{id}/messages. Returns the message and whether it is new (False: the nonce
        matched an earlier one and `enforce_nonce` was set)."""
        channel = self.channel_for(author, channel_id)
        if channel.type == GUILD_FORUM:
            raise errors.DiscordError(400, 40058, "Cannot send messages in a forum channel")
        content = body.get("content") or ""
        if not isinstance(content, str):
            raise errors.form_error("content", "STRING_TYPE_CONVERT", "Could not interpret value as string.")
        if len(content) > MAX_CONTENT:
            raise errors.content_too_long()
        nonce = body.get("nonce")
        if isinstance(nonce, str) and len(nonce) > MAX_NONCE:
            raise errors.form_error("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        if not content and not files and not body.get("embeds") and not body.get("sticker_ids"):
            raise errors.empty_message()
        for _, _, data in files:
            if len(data) > MAX_FILE_BYTES:
                raise errors.too_large()
        if nonce is not None and body.get("enforce_nonce"):
            known = self._nonces.get((author.id, str(nonce)))
            if known is not None and time.monotonic() - known[1] < NONCE_TTL:
                existing = self.messages.get(known[0])
                if existing is not None:
                    return existing, False
        reference = body.get("message_reference")
        referenced: Message | None = None
        if isinstance(reference, dict) and reference.get("message_id"):
            referenced = self.messages.get(str(reference["message_id"]))
            if referenced is None or referenced.deleted or referenced.channel_id != channel.id:
                if reference.get("fail_if_not_exists", True):
                    raise errors.form_error(
                        "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                    )
                referenced = None
        message = Message(
            id=self.mint(),
            channel_id=channel.id,
            author_id=author.id,
            content=content,
            type=type_ if type_ is not None else (REPLY if referenced else DEFAULT),
            guild_id=channel.guild_id,
            nonce=nonce,
            embeds=list(body.get("embeds") or []),
            flags=int(body.get("flags") or 0) & SUPPRESS_EMBEDS,  # the only flag a sender sets
            history=[content],
        )
        if referenced is not None:
            message.reference = {"message_id": referenced.id, "channel_id": channel.id}
            if channel.guild_id:
                message.reference["guild_id"] = channel.guild_id
        self._parse_mentions(message, channel, body.get("allowed_mentions"), referenced)
        for filename, content_type, data in files:
            att_id = self.mint()
            url = f"{self.cdn_base}/attachments/{channel.id}/{att_id}/{filename}"
            message.attachments.append(Attachment(att_id, filename, content_type, data, url))
        self.messages[message.id] = message
        self._unfurl(message)
        if channel.is_thread:
            channel.message_count += 1
            channel.archived = False
        if nonce is not None:
            self._nonces[(author.id, str(nonce))] = (message.id, time.monotonic())
        self.publish("MESSAGE_CREATE", {"message": message.id}, channel)
        return message, True

    def _parse_mentions(
        self, message: Message, channel: Channel, allowed: Any, referenced: Message | None
    ) -> None:
        """Who the message pings: `<@id>` tokens of real users, `<@&id>` roles of the guild, @everyone —
        each only as far as `allowed_mentions` lets it (absent: everything parses)."""
        parse = {"users", "roles", "everyone"}
        users_listed: list[str] = []
        roles_listed: list[str] = []
        replied_user = True
        if isinstance(allowed, dict):
            parse = set(allowed.get("parse") or [])
            users_listed = [str(u) for u in allowed.get("users") or []]
            roles_listed = [str(r) for r in allowed.get("roles") or []]
            replied_user = bool(allowed.get("replied_user", False))
        text = message.content
        users = [u for u in dict.fromkeys(_USER_MENTION.findall(text)) if u in self.users]
        guild = self.guilds.get(channel.guild_id or "")
        roles = [r for r in dict.fromkeys(_ROLE_MENTION.findall(text)) if guild and r in guild.roles]
        message.mentions = [u for u in users if "users" in parse or u in users_listed]
        message.mention_roles = [r for r in roles if "roles" in parse or r in roles_listed]
        message.mention_everyone = bool(_EVERYONE.search(text)) and "everyone" in parse and guild is not None
        if referenced is not None and replied_user and referenced.author_id not in message.mentions:
            message.mentions.append(referenced.author_id)

    def edit_message(self, editor: User, channel_id: str, message_id: str, body: dict[str, Any]) -> Message:
        channel = self.channel_for(editor, channel_id)
        message = self.message_in(channel, message_id)
        if message.author_id != editor.id:
            raise errors.cannot_edit_others()
        if "content" in body:
            content = body.get("content") or ""
            if len(content) > MAX_CONTENT:
                raise errors.content_too_long()
            if not content and not message.attachments and not message.embeds:
                raise errors.empty_message()
            message.content = content
            message.history.append(content)
            self._parse_mentions(message, channel, body.get("allowed_mentions"), None)
        if "flags" in body:
            message.flags = int(body.get("flags") or 0) & SUPPRESS_EMBEDS
        message.edited = iso(self.mint())
        self._unfurl(message)
        self.publish("MESSAGE_UPDATE", {"message": message.id}, channel)
        return message

    def _unfurl(self, message: Message) -> None:
        """Discord fetches each link for its preview unless the message suppresses embeds."""
        if message.flags & SUPPRESS_EMBEDS:
            return
        for url in _LINK.findall(message.content):
            self.unfurled.append(url)
            message.embeds.append({"type": "link", "url": url})

    def delete_message(self, user: User, channel_id: str, message_id: str) -> None:
        channel = self.channel_for(user, channel_id)
        message = self.message_in(channel, message_id)
        if message.author_id != user.id:
            raise errors.DiscordError(403, 50013, "Missing Permissions")
        message.deleted = True
        data = {"id": message.id, "channel_id": channel.id}
        if channel.guild_id:
            data["guild_id"] = channel.guild_id
        self.publish("MESSAGE_DELETE", data, channel)

    def react(self, user: User, channel_id: str, message_id: str, emoji: str, on: bool) -> None:
        channel = self.channel_for(user, channel_id)
        message = self.message_in(channel, message_id)
        if not _valid_emoji(emoji):
            raise errors.unknown_emoji()
        distinct = [e for e, who in message.reactions.items() if who]
        if on and emoji not in distinct and len(distinct) >= 20:
            raise errors.DiscordError(400, 30010, "Maximum number of reactions reached (20)")
        who = message.reactions.setdefault(emoji, set())
        if on:
            who.add(user.id)
        else:
            who.discard(user.id)
        data = {
            "user_id": user.id,
            "channel_id": channel.id,
            "message_id": message.id,
            "emoji": {"id": None, "name": emoji},
        }
        if channel.guild_id:
            data["guild_id"] = channel.guild_id
        self.publish("MESSAGE_REACTION_ADD" if on else "MESSAGE_REACTION_REMOVE", data, channel)

    def start_thread(self, user: User, channel_id: str, message_id: str, name: str) -> Channel:
        channel = self.channel_for(user, channel_id)
        if channel.type != GUILD_TEXT:
            raise errors.DiscordError(400, 50024, "Cannot execute action on this channel type")
        message = self.message_in(channel, message_id)
        if not 1 <= len(name) <= 100:
            raise errors.form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if message.thread_id is not None:
            raise errors.thread_exists()
        thread = Channel(
            message.id, PUBLIC_THREAD, name, guild_id=channel.guild_id, parent_id=channel.id, owner_id=user.id
        )
        self.channels[thread.id] = thread
        message.thread_id = thread.id
        self.publish("THREAD_CREATE", {"channel": thread.id, "newly_created": True}, thread)
        self.publish("MESSAGE_UPDATE", {"message": message.id}, channel)
        return thread


def _valid_emoji(emoji: str) -> bool:
    if ":" in emoji:
        name, _, emoji_id = emoji.partition(":")
        return bool(name) and emoji_id.isdigit()
    return bool(emoji) and all(ord(c) > 0x7F for c in emoji)


__all__ = ["THREAD_CREATED", "App", "Interaction", "World"]
