"""Encrypted messages the bot cannot read: a log line each, and a short notice to the sender in that room
at most once an hour (allowed people only: the bot stays silent to others)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hermes.platforms.base import ChatRef
from hermes.platforms.matrix.addressing import thread_root
from hermes.platforms.matrix.rooms import BoundedDict

log = logging.getLogger(__name__)

PLATFORM = "matrix"
NOTICE = (
    "🔒 I could not decrypt your message, so I have not read it. Please send it again; if this keeps "
    "happening, type /discardsession in this room (Element) so your client shares a new key with me."
)
UNTRUSTED_NOTICE = (
    "🔒 Your message came from a session that is not verified, so I have not read it: this bot only reads "
    "messages from verified (cross-signed) sessions. Verify this session from another one of yours "
    "(Element: Settings → Sessions), then send it again."
)
NOTICE_INTERVAL = 3600.0

SendText = Callable[..., Awaitable[Any]]


class UndecryptableNotices:
    def __init__(
        self,
        send_text: SendText,
        is_allowed: Callable[[str], bool],
        spawn: Callable[[Awaitable[Any]], None],
        *,
        interval: float = NOTICE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.send_text = send_text
        self.is_allowed = is_allowed
        self.spawn = spawn
        self.interval = interval
        self.clock = clock
        self._last: BoundedDict[tuple[str, str], float] = BoundedDict(10_000)

    def report(self, room_id: str, event: dict[str, Any], reason: str, *, notice: str = NOTICE) -> None:
        sender = str(event.get("sender"))
        event_id = str(event.get("event_id"))
        log.warning("matrix: cannot decrypt %s from %s in %s: %s", event_id, sender, room_id, reason)
        if not self.is_allowed(sender):
            return
        key = (room_id, sender)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return
        self._last[key] = now
        content = found if isinstance(found := event.get("content"), dict) else {}
        chat = ChatRef(PLATFORM, room_id, "group", thread_root(content))
        self.spawn(self.send_text(chat, notice, idempotency_key=f"{event_id}:undecryptable"))
