"""A Slack message, live from Socket Mode or read back by catch-up, turned into the hub's `Inbound`."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from hermes.platforms.base import Attachment, ChatRef, Inbound
from hermes.platforms.slack.addressing import (
    KINDS,
    PLATFORM,
    Bot,
    Policy,
    channel_type,
    decide,
    from_a_bot,
    strip_mention,
)
from hermes.platforms.slack.render import to_plain
from hermes.platforms.slack.web import SlackWeb

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
_CACHE_SIZE = 4096
_SAFE_NAME = re.compile(r"[^\w.\-]+")


def event_key(channel: str, ts: str) -> str:
    """The message's identity: `ts` is unique only within a channel. The same message heard twice (an
    `app_mention` and a `message` event, a redelivery, a catch-up read) gets the same key, so the hub's
    inbox answers it once."""
    return f"{channel}:{ts}"


class _Bounded(OrderedDict[Any, Any]):
    def remember(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > _CACHE_SIZE:
            self.popitem(last=False)


class ThreadBook:
    """The threads the bot takes part in: from its own posts and the mentions of it it heard, and, when
    neither tells, from the thread itself read once."""

    def __init__(self, web: SlackWeb, bot: Bot) -> None:
        self.web = web
        self.bot = bot
        self._known: _Bounded = _Bounded()

    def joined(self, channel: str, thread_ts: str) -> None:
        self._known.remember((channel, thread_ts), True)

    def recent(self) -> list[tuple[str, str]]:
        return [key for key, inside in self._known.items() if inside]

    async def bot_in(self, channel: str, thread_ts: str) -> bool:
        known = self._known.get((channel, thread_ts))
        if known is not None:
            return bool(known)
        try:
            thread = await self.web.call("conversations_replies", channel=channel, ts=thread_ts, limit=200)
        except SlackApiError as exc:
            log.debug("slack: could not read thread %s/%s: %s", channel, thread_ts, exc)
            return False
        inside = any(
            m.get("user") == self.bot.user_id or self.bot.mention in str(m.get("text") or "")
            for m in thread.get("messages") or []
        )
        self._known.remember((channel, thread_ts), inside)
        return inside


class UserNames:
    def __init__(self, web: SlackWeb) -> None:
        self.web = web
        self._names: _Bounded = _Bounded()

    async def name_of(self, user_id: str) -> str:
        name = self._names.get(user_id)
        if name is None:
            try:
                user = (await self.web.call("users_info", user=user_id))["user"]
                profile = user.get("profile") or {}
                name = profile.get("display_name") or user.get("real_name") or user.get("name") or user_id
            except SlackApiError:
                return user_id
            self._names.remember(user_id, name)
        return str(name)


class InboundBuilder:
    def __init__(
        self,
        web: SlackWeb,
        bot: Bot,
        policy: Policy,
        threads: ThreadBook,
        media_dir: Path,
        is_allowed: Callable[[str], bool],
    ) -> None:
        self.web = web
        self.bot = bot
        self.policy = policy
        self.threads = threads
        self.media_dir = media_dir
        self.is_allowed = is_allowed
        self.users = UserNames(web)

    async def build(self, event: dict[str, Any]) -> Inbound:
        channel = str(event.get("channel") or "")
        ts = str(event.get("ts") or "")
        user = str(event.get("user") or event.get("bot_id") or "")
        raw = str(event.get("text") or "")
        verdict = decide(event, self.bot, self.policy)
        thread_ts = str(event.get("thread_ts") or "")
        kind = channel_type(event)
        if not verdict.addressed and thread_ts and thread_ts != ts and kind != "im":
            inside = await self.threads.bot_in(channel, thread_ts)
            verdict = decide(event, self.bot, self.policy, bot_in_thread=inside)
        if verdict.mentioned and verdict.thread_id and not self.policy.strict_mention:
            self.threads.joined(channel, verdict.thread_id)
        text = to_plain(strip_mention(raw, self.bot) if verdict.mentioned else raw.strip())
        attachments: tuple[Attachment, ...] = ()
        # Files are fetched for people the bot answers only: a stranger cannot fill its disk.
        if verdict.addressed and event.get("files") and self.is_allowed(user):
            attachments, notes = await self._files(event["files"])
            extra = [_describe(a) for a in attachments if not a.mime_type.startswith("image/")] + notes
            if not text and attachments and not extra:
                text = " ".join(f"[image {a.filename}]" for a in attachments)
            text = "\n\n".join(part for part in (text, *extra) if part)
        sender_name = await self.users.name_of(user) if verdict.addressed and user else user
        return Inbound(
            event_id=event_key(channel, ts),
            chat=ChatRef(PLATFORM, channel, KINDS.get(kind, "channel"), verdict.thread_id),
            sender_id=user,
            sender_name=sender_name,
            text=text,
            addressed=verdict.addressed,
            sent_at=float(ts or 0),
            attachments=attachments,
            sender_is_bot=from_a_bot(event),
        )

    async def _files(self, files: list[dict[str, Any]]) -> tuple[tuple[Attachment, ...], list[str]]:
        found: list[Attachment] = []
        notes: list[str] = []
        for file in files:
            name = str(file.get("name") or file.get("id") or "file")
            url = file.get("url_private_download") or file.get("url_private")
            mimetype = str(file.get("mimetype") or "application/octet-stream")
            if not url:
                notes.append(f"[{name}: not downloadable (Slack gave no file URL)]")
                continue
            try:
                data, content_type = await self.web.download(str(url), MAX_FILE_BYTES)
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                notes.append(f"[{name}: could not be downloaded: {exc}]")
                continue
            if content_type == "text/html" and "html" not in mimetype:
                notes.append(f"[{name}: Slack refused the download (the bot needs the files:read scope)]")
                continue
            path = self.media_dir / f"{file.get('id', 'F')}-{_SAFE_NAME.sub('_', name)}"
            await asyncio.to_thread(_write, path, data)
            found.append(Attachment(name, mimetype, str(path), len(data)))
        return tuple(found), notes


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def _describe(a: Attachment) -> str:
    return f"[{a.filename} ({a.mime_type}, {a.size} bytes) saved at {a.path}]"
