"""A Discord message, live from the Gateway or read back by the catch-up, turned into the hub's
`Inbound`; and the auto-thread a mention starts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hermes.platforms.base import Attachment, ChatRef, Inbound
from hermes.platforms.discord.addressing import (
    Policy,
    Situation,
    decide,
    others_mentioned,
    strip_mention,
    thread_name,
)
from hermes.platforms.discord.channels import DM, ChannelInfo, Channels
from hermes.platforms.discord.files import FileFetcher, describe
from hermes.platforms.discord.rest import DiscordError, RestClient
from hermes.platforms.discord.wire import obj

log = logging.getLogger(__name__)

PLATFORM = "discord"
# Message types a person writes: DEFAULT and REPLY. Everything else (joins, pins, thread notices,
# slash-command echoes) is the system's.
CONVERSATIONAL_TYPES = frozenset({0, 19})
_THREAD_EXISTS = 160004


def ignored(message: dict[str, Any], bot_id: str) -> str | None:
    author = obj(message.get("author"))
    if str(author.get("id")) == bot_id:
        return "own message"
    if message.get("type", 0) not in CONVERSATIONAL_TYPES:
        return "system message"
    if message.get("webhook_id") and not author.get("bot"):
        return "webhook"
    return None


@dataclass(frozen=True)
class Built:
    inbound: Inbound
    # The message the bot should mark with a processing reaction (addressed, from someone allowed).
    react: bool


class InboundBuilder:
    def __init__(
        self,
        rest: RestClient,
        bot_id: str,
        policy: Policy,
        channels: Channels,
        files: FileFetcher,
        is_allowed: Callable[[str], bool],
        is_command: Callable[..., bool],
    ) -> None:
        self.rest = rest
        self.bot_id = bot_id
        self.policy = policy
        self.channels = channels
        self.files = files
        self.is_allowed = is_allowed
        self.is_command = is_command

    async def build(self, message: dict[str, Any]) -> Built:
        message_id = str(message["id"])
        channel_id = str(message.get("channel_id") or "")
        author = obj(message.get("author"))
        user_id = str(author.get("id") or "")
        content = str(message.get("content") or "")
        # Messages read back over REST carry no `guild_id`: the channel tells what they are.
        channel = await self.channels.get(channel_id)
        is_dm = channel.type == DM if channel is not None else not message.get("guild_id")
        thread = channel if channel is not None and channel.is_thread else None
        parent = await self.channels.get(thread.parent_id) if thread and thread.parent_id else None
        mention_ids = frozenset(
            str(m.get("id")) for m in message.get("mentions") or () if isinstance(m, dict) and m.get("id")
        )
        roles = [str(r) for r in message.get("mention_roles") or ()]
        situation = Situation(
            bot_id=self.bot_id,
            channel_id=channel_id,
            is_dm=is_dm,
            content=content,
            mention_ids=mention_ids,
            mentions_others=others_mentioned(content, self.bot_id, mention_ids, roles),
            author_is_bot=bool(author.get("bot")),
            thread_id=thread.id if thread else None,
            parent_id=thread.parent_id if thread else None,
            bot_in_thread=bool(thread and self.channels.bot_in(thread, self.bot_id)),
            is_reply=message.get("type") == 19,
            is_command=self.is_command(strip_mention(content, self.bot_id)),
            channel_names=frozenset(n for n in (channel and channel.name, parent and parent.name) if n),
        )
        verdict = decide(situation, self.policy)
        allowed = verdict.addressed and self.is_allowed(user_id)
        text = strip_mention(content, self.bot_id) if verdict.mentioned else content.strip()
        attachments: tuple[Attachment, ...] = ()
        # Files are fetched for people the bot answers only: a stranger cannot fill its disk.
        if allowed and message.get("attachments"):
            attachments, notes = await self.files.fetch(message)
            extra = [describe(a) for a in attachments if not a.mime_type.startswith("image/")] + list(notes)
            if not text and attachments and not extra:
                text = " ".join(f"[image {a.filename}]" for a in attachments)
            text = "\n\n".join(part for part in (text, *extra) if part)
        # A bare mention (or a sticker alone) leaves nothing to answer, as in the reference system.
        addressed = verdict.addressed and bool(text or attachments)
        allowed = allowed and addressed
        thread_id = thread.id if thread else None
        if allowed and verdict.start_thread and channel is not None:
            thread_id = await self._start_thread(channel, message_id, text)
        chat_id = thread.parent_id if thread and thread.parent_id else channel_id
        inbound = Inbound(
            event_id=message_id,
            chat=ChatRef(PLATFORM, chat_id, "dm" if is_dm else "channel", thread_id),
            sender_id=user_id,
            sender_name=str(author.get("global_name") or author.get("username") or user_id),
            text=text,
            addressed=addressed,
            sent_at=_timestamp(message),
            attachments=attachments,
            sender_is_bot=bool(author.get("bot")),
        )
        return Built(inbound, react=allowed)

    async def _start_thread(self, channel: ChannelInfo, message_id: str, text: str) -> str | None:
        """A thread on the message (its id is the message's); None when Discord refuses, and the answer
        then goes to the channel."""
        try:
            data = await self.rest.request(
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                params={"channel_id": channel.id, "message_id": message_id},
                json_body={"name": thread_name(text), "auto_archive_duration": 1440},
            )
        except DiscordError as exc:
            if exc.code == _THREAD_EXISTS:
                # Started before a restart or a reconnect: the thread's id is the message's.
                self.channels.bot_joined(message_id)
                return message_id
            log.warning("discord: could not start a thread in #%s: %s", channel.name, exc)
            return None
        info = self.channels.learn(data, channel.guild_id)
        thread_id = info.id if info else message_id
        self.channels.bot_joined(thread_id)
        return thread_id


def _timestamp(message: dict[str, Any]) -> float:
    raw = message.get("timestamp")
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw).timestamp()
        except ValueError:
            pass
    return ((int(message["id"]) >> 22) + 1_420_070_400_000) / 1000.0


__all__ = ["DM", "PLATFORM", "Built", "InboundBuilder", "ignored"]
