"""What the bot sends: messages (with a nonce and `enforce_nonce`, so a chunk sent again after a crash is
not posted twice), edits, the typing indicator and reactions, each with the allowed mentions the operator
chose (by default users may be pinged, @everyone, @here and roles may not)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from functools import partial
from typing import Any

from hermes.platforms.base import Attachment, ChatRef
from hermes.platforms.discord.channels import Channels
from hermes.platforms.discord.files import MAX_FILES_PER_MESSAGE, multipart, read_files
from hermes.platforms.discord.rest import WRITE, DiscordError, RestClient
from hermes.platforms.discord.settings import DiscordSettings

log = logging.getLogger(__name__)

MAX_CONTENT = 2000
# Discord's servers fetch every link in a message to build its preview, with no click: a model steered by
# injected text could put a secret in a URL and it would leave that way. The bot's messages carry no
# previews.
SUPPRESS_EMBEDS = 1 << 2
NONCE_CHARS = 25
_MESSAGES = "/channels/{channel_id}/messages"
_CHUNK_KEY = re.compile(r"^(\d{15,21}):(\d+)$")


def nonce_for(idempotency_key: str) -> str:
    """Discord keeps nonces of at most 25 characters: a digest of the key, the same on every retry."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:NONCE_CHARS]


def replied_message(chat: ChatRef, idempotency_key: str, mode: str) -> str | None:
    """The message an answer chunk replies to (DISCORD_REPLY_TO_MODE), from the hub's chunk key
    `<event id>:<chunk>`, whose event id is the triggering message's id. None in the auto-thread the
    trigger started: that message is in the parent channel, and the thread already says what it answers."""
    match = _CHUNK_KEY.match(idempotency_key)
    if match is None or mode == "off" or (mode == "first" and match.group(2) != "0"):
        return None
    trigger = match.group(1)
    return None if trigger == chat.thread_id else trigger


def allowed_mentions(conf: DiscordSettings) -> dict[str, Any]:
    kinds = (
        ("users", conf.allow_mention_users),
        ("roles", conf.allow_mention_roles),
        ("everyone", conf.allow_mention_everyone),
    )
    return {"parse": [name for name, on in kinds if on], "replied_user": conf.allow_mention_replied_user}


class Outbound:
    def __init__(self, rest: RestClient, conf: DiscordSettings, channels: Channels) -> None:
        self.rest = rest
        self.conf = conf
        self.channels = channels

    async def send(
        self, chat: ChatRef, text: str, idempotency_key: str, attachments: Sequence[Attachment]
    ) -> str:
        """Post to the chat (its thread when it has one); the id of the first message. More than ten
        files go out as further messages, each with its own nonce."""
        target = chat.thread_id or chat.chat_id
        files, notes = await read_files(attachments)
        content = "\n\n".join(part for part in (text, *notes) if part)[:MAX_CONTENT]
        groups = [files[i : i + MAX_FILES_PER_MESSAGE] for i in range(0, len(files), MAX_FILES_PER_MESSAGE)]
        first: str | None = None
        for index, group in enumerate(groups or [[]]):
            key = idempotency_key if index == 0 else f"{idempotency_key}:files{index}"
            payload: dict[str, Any] = {
                "content": content if index == 0 else "",
                "nonce": nonce_for(key),
                "enforce_nonce": True,
                "allowed_mentions": allowed_mentions(self.conf),
                "flags": SUPPRESS_EMBEDS,
            }
            replied = replied_message(chat, key, self.conf.reply_to_mode) if index == 0 else None
            if replied is not None:
                # A trigger deleted meanwhile must not stop the answer: it then goes out as a plain message.
                payload["message_reference"] = {"message_id": replied, "fail_if_not_exists": False}
            params = {"channel_id": target}
            if group:
                form = partial(multipart, payload, group)
                data = await self.rest.request("POST", _MESSAGES, params=params, form=form, policy=WRITE)
            else:
                data = await self.rest.request(
                    "POST", _MESSAGES, params=params, json_body=payload, policy=WRITE
                )
            first = first or str(data["id"])
        if chat.thread_id:
            self.channels.bot_joined(chat.thread_id)
        assert first is not None
        return first

    async def edit(self, chat: ChatRef, message_id: str, text: str) -> None:
        await self.rest.request(
            "PATCH",
            _MESSAGES + "/{message_id}",
            params={"channel_id": chat.thread_id or chat.chat_id, "message_id": message_id},
            json_body={
                "content": text[:MAX_CONTENT],
                "allowed_mentions": allowed_mentions(self.conf),
                "flags": SUPPRESS_EMBEDS,
            },
            policy=WRITE,
        )

    async def typing(self, chat: ChatRef) -> None:
        """Shown for 10 s, or until the bot's next message."""
        await self.rest.request(
            "POST", "/channels/{channel_id}/typing", params={"channel_id": chat.thread_id or chat.chat_id}
        )

    async def react(self, channel_id: str, message_id: str, emoji: str, on: bool) -> None:
        """Add or remove the bot's reaction; a failure is only logged (reactions are decoration)."""
        try:
            await self.rest.request(
                "PUT" if on else "DELETE",
                _MESSAGES + "/{message_id}/reactions/{emoji}/@me",
                params={"channel_id": channel_id, "message_id": message_id, "emoji": emoji},
            )
        except (DiscordError, ConnectionError) as exc:
            log.debug("discord: reaction %s on %s failed: %s", emoji, message_id, exc)
