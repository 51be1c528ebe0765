"""The one way anything leaves the bot for a room.

Every room event the bot sends — replies, edits, notices, reactions, media — goes through
`Sender.send_event`, every file through `Sender.upload`, and every redaction through `Sender.redact`.
There the room's encryption is looked up first (`room_encryption.py`): in an encrypted room an event is
encrypted (reactions too, as Element does) and a file is encrypted client-side, or, when the bot cannot
encrypt, nothing is sent and `PlaintextRefused` is raised. (Typing notifications and read receipts, in
`signals.py`, are not room events and never carry content.)

Sends are idempotent: a transaction id derived from the hub's idempotency key makes the homeserver return
the original event when a send is repeated after a crash. `M_LIMIT_EXCEEDED` is waited out as the server
asks (`retry_after_ms`); other transient failures are retried with backoff, all with the same
transaction id.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hermes.backoff import exponential_delay
from hermes.platforms.base import Attachment, ChatRef
from hermes.platforms.matrix.http import (
    MatrixHTTP,
    Method,
    client_path,
    is_rate_limited,
    is_transient,
    retry_after,
)
from hermes.platforms.matrix.media import outbound_content
from hermes.platforms.matrix.render import HTML_FORMAT, text_content, without_html
from hermes.platforms.matrix.room_encryption import RoomEncryption
from hermes.platforms.matrix.rooms import BoundedDict, ThreadBook

if TYPE_CHECKING:
    from hermes.platforms.matrix.crypto.engine import E2EE

log = logging.getLogger(__name__)

T = TypeVar("T")
ENCRYPTED = "m.room.encrypted"
# What an encrypted file is uploaded as: its real type and name travel inside the encrypted event.
OPAQUE_MIME = "application/octet-stream"

# The homeserver refuses events over 64 KiB; signatures and hashes need some of that.
MAX_CONTENT_BYTES = 60_000


@dataclass(frozen=True)
class SentEvent:
    chat: ChatRef
    mentions: frozenset[str]


def txn_id_for(idempotency_key: str) -> str:
    return "hermes." + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def thread_relation(root: str, reply_to: str) -> dict[str, Any]:
    """MSC3440: in the thread of `root`; clients without threads see a reply to `reply_to`."""
    return {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": reply_to},
    }


def edit_content(event_id: str, markdown: str, already_mentioned: frozenset[str]) -> dict[str, Any]:
    """An `m.replace` edit; only people the new text mentions for the first time are notified."""
    new_content = text_content(markdown)
    mentioned = new_content["m.mentions"].get("user_ids", [])
    fresh = [user for user in mentioned if user not in already_mentioned]
    content: dict[str, Any] = {
        "msgtype": "m.text",
        "body": f"* {new_content['body']}",
        "m.new_content": new_content,
        "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        "m.mentions": {"user_ids": fresh} if fresh else {},
    }
    if "formatted_body" in new_content:
        content["format"] = HTML_FORMAT
        content["formatted_body"] = f"* {new_content['formatted_body']}"
    return content


def _size(content: dict[str, Any]) -> int:
    return len(json.dumps(content, ensure_ascii=False).encode())


def fit(content: dict[str, Any]) -> dict[str, Any]:
    if _size(content) <= MAX_CONTENT_BYTES:
        return content
    return without_html(content)


class Sender:
    def __init__(
        self,
        http: MatrixHTTP,
        user_id: str,
        threads: ThreadBook,
        *,
        encryption: RoomEncryption,
        e2ee: E2EE | None = None,
        max_wait: float = 300.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.user_id = user_id
        self.threads = threads
        self.encryption = encryption
        self.e2ee = e2ee
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._sent: BoundedDict[str, SentEvent] = BoundedDict(2000)

    # -- the single path -----------------------------------------------------------------------------

    async def send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], *, txn_id: str | None = None
    ) -> str:
        """Send one room event; returns its event id. Every event the bot sends passes here.

        In an encrypted room the event is encrypted, or `PlaintextRefused` is raised and nothing is sent.
        """
        txn = txn_id or f"hermes.{uuid.uuid4().hex}"
        what = f"{event_type} to {room_id}"
        if await self._encrypted(room_id):
            content = await self._seal(room_id, event_type, content, what=what)
            event_type = ENCRYPTED
        path = client_path("rooms/{}/send/{}/{}", room_id, event_type, txn)
        answer = await self._patiently(Method.PUT, path, content, what=what)
        return str(answer["event_id"])

    async def upload(self, data: bytes, mime_type: str, filename: str, *, room_id: str) -> dict[str, Any]:
        """Put a file for `room_id` in the media repository. Every file sent passes here.

        Returns the keys that locate it in a media event: `{"url": mxc}`, or in an encrypted room
        `{"file": {...}}` (encrypted client-side, uploaded without its name or type).
        """
        if not await self._encrypted(room_id):
            return {"url": await self._put_media(data, mime_type, {"filename": filename}, filename)}
        self._encryptor(room_id)
        from hermes.platforms.matrix.crypto.attachments import encrypt_file

        ciphertext, file = await asyncio.to_thread(encrypt_file, data)
        file["url"] = await self._put_media(ciphertext, OPAQUE_MIME, None, filename)
        return {"file": file}

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> str:
        """Redact an event; returns the redaction's id. A redaction cannot be encrypted (the homeserver
        must read it), so in an encrypted room it carries no reason, and without encryption none is sent.
        """
        encrypted = await self._encrypted(room_id)
        if encrypted:
            self._encryptor(room_id)
        content = {"reason": reason} if reason and not encrypted else {}
        path = client_path("rooms/{}/redact/{}/{}", room_id, event_id, f"hermes.{uuid.uuid4().hex}")
        answer = await self._patiently(Method.PUT, path, content, what=f"redaction in {room_id}")
        return str(answer["event_id"])

    async def _seal(
        self, room_id: str, event_type: str, content: dict[str, Any], *, what: str
    ) -> dict[str, Any]:
        e2ee = self._encryptor(room_id)
        sealed = await self._retrying(lambda: e2ee.encrypt(room_id, event_type, content), what=what)
        # Ciphertext is base64 of escaped JSON: a text that fits in the clear may not once encrypted.
        if _size(sealed) > MAX_CONTENT_BYTES and without_html(content) != content:
            plain = without_html(content)
            sealed = await self._retrying(lambda: e2ee.encrypt(room_id, event_type, plain), what=what)
        return sealed

    async def _encrypted(self, room_id: str) -> bool:
        return await self._retrying(
            lambda: self.encryption.is_encrypted(room_id), what=f"encryption lookup for {room_id}"
        )

    def _encryptor(self, room_id: str) -> E2EE:
        if self.e2ee is None:
            raise self.encryption.refusal(room_id)
        return self.e2ee

    async def _put_media(self, data: bytes, mime_type: str, query: dict[str, str] | None, name: str) -> str:
        answer = await self._patiently(
            Method.POST,
            "_matrix/media/v3/upload",
            data,
            headers={"Content-Type": mime_type},
            query=query,
            what=f"upload of {name}",
        )
        return str(answer["content_uri"])

    # -- what the platform sends ---------------------------------------------------------------------

    async def send_text(self, chat: ChatRef, markdown: str, *, idempotency_key: str) -> str:
        content = text_content(markdown)
        self._relate(chat, content)
        event_id = await self.send_event(
            chat.chat_id, "m.room.message", fit(content), txn_id=txn_id_for(idempotency_key)
        )
        mentions = frozenset(content["m.mentions"].get("user_ids", []))
        self._remember(chat, event_id, mentions)
        return event_id

    async def send_file(self, chat: ChatRef, attachment: Attachment, *, idempotency_key: str) -> str:
        data = await asyncio.to_thread(Path(attachment.path).read_bytes)
        location = await self.upload(data, attachment.mime_type, attachment.filename, room_id=chat.chat_id)
        content = outbound_content(attachment, location)
        self._relate(chat, content)
        event_id = await self.send_event(
            chat.chat_id, "m.room.message", content, txn_id=txn_id_for(idempotency_key)
        )
        self._remember(chat, event_id, frozenset())
        return event_id

    async def edit(self, room_id: str, event_id: str, markdown: str) -> None:
        known = self._sent.get(event_id)
        content = edit_content(event_id, markdown, known.mentions if known else frozenset())
        await self.send_event(room_id, "m.room.message", fit(content))
        if known is not None:
            mentions = frozenset(content["m.new_content"]["m.mentions"].get("user_ids", []))
            self._sent[event_id] = SentEvent(known.chat, known.mentions | mentions)

    def chat_of(self, event_id: str) -> ChatRef | None:
        """Where a recent event of the bot's went (a reaction to it is an answer in that chat)."""
        known = self._sent.get(event_id)
        return known.chat if known else None

    # -- helpers --------------------------------------------------------------------------------------

    def _relate(self, chat: ChatRef, content: dict[str, Any]) -> None:
        if chat.thread_id:
            reply_to = self.threads.latest(chat.chat_id, chat.thread_id)
            content["m.relates_to"] = thread_relation(chat.thread_id, reply_to)

    def _remember(self, chat: ChatRef, event_id: str, mentions: frozenset[str]) -> None:
        self._sent[event_id] = SentEvent(chat, mentions)
        if chat.thread_id:
            self.threads.joined(chat.chat_id, chat.thread_id)
            self.threads.saw(chat.chat_id, chat.thread_id, event_id)

    async def _patiently(
        self,
        method: Method,
        path: str,
        content: Any,
        *,
        what: str,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Any:
        return await self._retrying(
            lambda: self.http.request(method, path, content, headers=dict(headers or {}), query_params=query),
            what=what,
        )

    async def _retrying(self, call: Callable[[], Awaitable[T]], *, what: str) -> T:
        deadline = self._clock() + self.max_wait
        attempt = 0
        while True:
            try:
                return await call()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                asked = retry_after(exc) if is_rate_limited(exc) else None
                delay = asked if asked is not None else exponential_delay(attempt, 1.0, 30.0)
                if self._clock() + delay > deadline:
                    raise
                level = logging.INFO if is_rate_limited(exc) else logging.WARNING
                log.log(level, "matrix: %s failed (%s); retrying in %.2f s", what, _brief(exc), delay)
                await self._sleep(delay)
                attempt += 1


def _brief(exc: BaseException) -> str:
    errcode = getattr(exc, "errcode", None)
    return errcode or f"{type(exc).__name__}: {exc}"
