"""One room event from /sync to the hub's `Inbound`, or to nothing.

Dropped here: the bot's own events, notices (unless `process_notices`), edits, redacted events, ignored
users, and reactions other than an answer (✅/❌) to something the bot asked. Everything else goes to the
hub with the adapter's verdict on whether it is addressed to the bot, in the chat and thread the reply
belongs in. Media is fetched only for addressed messages from allowed people.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hermes.platforms.base import Attachment, ChatRef, Inbound
from hermes.platforms.matrix.addressing import (
    BotIdentity,
    Situation,
    decide,
    ignored_sender,
    is_edit,
    mentions_bot,
    relation,
    strip_mention,
    strip_reply_fallback,
    thread_root,
)
from hermes.platforms.matrix.media import (
    MEDIA_MSGTYPES,
    MediaError,
    MediaFetcher,
    caption,
    describe,
    is_voice,
)
from hermes.platforms.matrix.options import MatrixOptions
from hermes.platforms.matrix.rooms import DirectRooms, RoomDirectory, ThreadBook
from hermes.platforms.matrix.sender import Sender
from hermes.platforms.matrix.signals import Signals
from hermes.platforms.matrix.voice import NOT_SET_UP, Transcriber, TranscriptionFailed

log = logging.getLogger(__name__)

PLATFORM = "matrix"
# Reactions that answer an approval question; the hub reads them as yes / no.
ANSWER_REACTIONS = {"✅", "❌", "👍", "👎"}
_VARIATION_SELECTOR = "\ufe0f"
_TEXT_MSGTYPES = {"m.text", "m.emote", "m.notice"}


@dataclass
class InboundContext:
    identity: BotIdentity
    options: MatrixOptions
    rooms: RoomDirectory
    direct: DirectRooms
    threads: ThreadBook
    media: MediaFetcher
    sender: Sender
    signals: Signals
    transcriber: Transcriber | None
    is_allowed: Callable[[str], bool]
    # The hub's own recognition of its commands (HubPort.is_command), so "/help" is never threaded.
    is_command: Callable[[str], bool]
    spawn: Callable[[Awaitable[Any]], None]


class EventReader:
    def __init__(self, ctx: InboundContext) -> None:
        self.ctx = ctx

    async def read(self, room_id: str, event: dict[str, Any]) -> Inbound | None:
        ctx = self.ctx
        sender = event.get("sender")
        content = event.get("content")
        if not isinstance(sender, str) or not isinstance(content, dict) or not content:
            return None
        if sender == ctx.identity.user_id:
            root = thread_root(content)
            if root is not None:
                ctx.threads.joined(room_id, root)
            return None
        if ignored_sender(sender, ctx.options.ignore_patterns):
            return None
        if event.get("type") == "m.reaction":
            return self._reaction(room_id, event, sender, content)
        if event.get("type") != "m.room.message" or is_edit(content):
            return None
        msgtype = content.get("msgtype")
        if msgtype == "m.notice" and not ctx.options.process_notices:
            return None
        if msgtype not in _TEXT_MSGTYPES and msgtype not in MEDIA_MSGTYPES:
            return None
        return await self._message(room_id, event, sender, content, str(msgtype))

    async def _message(
        self, room_id: str, event: dict[str, Any], sender: str, content: dict[str, Any], msgtype: str
    ) -> Inbound | None:
        ctx = self.ctx
        options = ctx.options
        event_id = str(event["event_id"])
        await ctx.rooms.ensure(room_id)
        is_dm = ctx.direct.is_direct(room_id) or ctx.rooms.member_count(room_id) == 2
        mentioned = mentions_bot(content, ctx.identity)
        root = thread_root(content)
        free = room_id in options.free_rooms
        text = self._text(content, msgtype, mentioned)
        addressed_anyway = is_dm or mentioned or free or not options.require_mention
        needs_thread_check = root is not None and not addressed_anyway
        verdict = decide(
            Situation(
                event_id=event_id,
                is_dm=is_dm,
                mentioned=mentioned,
                thread_root=root,
                bot_in_thread=needs_thread_check and await ctx.threads.bot_in_thread(room_id, root or ""),
                free_room=free,
                require_mention=options.require_mention,
                auto_thread=options.auto_thread,
                dm_mention_threads=options.dm_mention_threads,
                is_command=ctx.is_command(text),
            )
        )
        chat = ChatRef(PLATFORM, room_id, "dm" if is_dm else "group", verdict.thread_id)
        if msgtype == "m.emote":
            text = f"* {ctx.rooms.display_name(room_id, sender)} {text}"
        attachments: tuple[Attachment, ...] = ()
        wanted = verdict.addressed and ctx.is_allowed(sender)
        if msgtype in MEDIA_MSGTYPES and wanted:
            fetched = await self._media(chat, event_id, content, text)
            if fetched is None:
                return None
            text, attachments = fetched
        if verdict.thread_id:
            ctx.threads.saw(room_id, verdict.thread_id, event_id)
        if wanted:
            ctx.signals.read(room_id, event_id)
        return Inbound(
            event_id=event_id,
            chat=chat,
            sender_id=sender,
            sender_name=ctx.rooms.display_name(room_id, sender),
            text=text,
            addressed=verdict.addressed,
            sent_at=_seconds(event),
            attachments=attachments,
        )

    def _text(self, content: dict[str, Any], msgtype: str, mentioned: bool) -> str:
        """What the person wrote, without a reply's quoted fallback or the words addressing the bot."""
        body = found if isinstance(found := content.get("body"), str) else ""
        if msgtype in MEDIA_MSGTYPES:
            body = caption(content)
        text = strip_reply_fallback(content, body)
        return strip_mention(text, self.ctx.identity) if mentioned else text

    async def _media(
        self, chat: ChatRef, event_id: str, content: dict[str, Any], text: str
    ) -> tuple[str, tuple[Attachment, ...]] | None:
        """The text and files the agent gets; None when the sender was answered here instead."""
        ctx = self.ctx
        voice = is_voice(content)
        if voice and ctx.transcriber is None:
            self._notify(chat, event_id, NOT_SET_UP)
            return None
        try:
            attachment = await ctx.media.fetch(content)
        except MediaError as exc:
            note = f"[an attachment could not be received: {exc}]"
            return (f"{text}\n\n{note}" if text else note), ()
        if voice and ctx.transcriber is not None:
            try:
                heard = await ctx.transcriber.transcribe(attachment.path, attachment.mime_type)
            except TranscriptionFailed as exc:
                log.warning("matrix: transcription of %s failed: %s", event_id, exc)
                self._notify(chat, event_id, "🎤 Sorry, I could not transcribe that voice message.")
                return None
            return f"[voice message] {heard}", (attachment,)
        if attachment.mime_type.startswith("image/"):
            return (text or f"[image {attachment.filename}]"), (attachment,)
        return (f"{text}\n\n{describe(attachment)}" if text else describe(attachment)), (attachment,)

    def _notify(self, chat: ChatRef, event_id: str, text: str) -> None:
        self.ctx.spawn(self.ctx.sender.send_text(chat, text, idempotency_key=f"{event_id}:voice"))

    def _reaction(
        self, room_id: str, event: dict[str, Any], sender: str, content: dict[str, Any]
    ) -> Inbound | None:
        rel = relation(content)
        key = rel.get("key")
        if rel.get("rel_type") != "m.annotation" or not isinstance(key, str):
            return None
        key = key.replace(_VARIATION_SELECTOR, "")
        chat = self.ctx.sender.chat_of(str(rel.get("event_id")))
        if key not in ANSWER_REACTIONS or chat is None or chat.chat_id != room_id:
            return None
        # Not addressed: the hub takes it as an answer to a pending question, or drops it.
        return Inbound(
            event_id=str(event["event_id"]),
            chat=chat,
            sender_id=sender,
            sender_name=self.ctx.rooms.display_name(room_id, sender),
            text=key,
            addressed=False,
            sent_at=_seconds(event),
            reaction_to=str(rel.get("event_id")),
        )


def _seconds(event: dict[str, Any]) -> float:
    timestamp = event.get("origin_server_ts")
    return timestamp / 1000 if isinstance(timestamp, int | float) else 0.0
