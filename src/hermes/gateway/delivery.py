"""Carrying one run's events to one chat: streamed by throttled edits where the platform can edit,
split at the platform's limit, and idempotent across a crash.

Each chunk of a reply has a stable idempotency key (`<event key>:<chunk>`), and every chunk that was sent
is recorded. A re-run after a crash edits the chunks it finds recorded instead of posting them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from hermes.agent.contract import AgentEvent, Failed, Final, TextDelta, ToolFinished, ToolStarted
from hermes.gateway.image_links import images_as_links
from hermes.gateway.splitting import split_message
from hermes.platforms.base import ChatRef, MessageRef, Platform

log = logging.getLogger(__name__)

RecordSent = Callable[[int, str], Awaitable[None]]
STOPPED_MARK = "\n\n_(stopped)_"


@dataclass
class EditThrottle:
    min_interval: float = 1.0
    max_edits: int = 100
    edits: int = 0
    last_at: float = 0.0

    def wait_time(self, now: float) -> float | None:
        """Seconds until the next edit may go out; None once the cap is reached."""
        if self.edits >= self.max_edits:
            return None
        return max(0.0, self.min_interval - (now - self.last_at))

    def record(self, now: float) -> None:
        self.edits += 1
        self.last_at = now


@dataclass
class ReplyStream:
    platform: Platform
    chat: ChatRef
    key_prefix: str
    record_sent: RecordSent
    existing: dict[int, str] = field(default_factory=dict)
    tool_progress: bool = False
    throttle: EditThrottle = field(default_factory=EditThrottle)

    _text: str = ""
    _shown: str = ""
    _first: MessageRef | None = None
    _flusher: asyncio.Task[None] | None = None
    _progress_lines: list[str] = field(default_factory=list)
    _progress_ref: MessageRef | None = None
    sent_ids: list[str] = field(default_factory=list)

    @property
    def streaming(self) -> bool:
        return self.platform.can_edit

    async def on_event(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            self._text += event.text
            if self.streaming:
                await self._stream_update()
        elif isinstance(event, ToolStarted) and self.tool_progress:
            await self._progress(f"🔧 {event.name}")
        elif isinstance(event, ToolFinished) and self.tool_progress and not event.ok:
            await self._progress(f"⚠️ {event.name} failed")

    async def finish(self, event: Final | Failed) -> list[str]:
        """Write the final text (always), and return the ids of every message the reply consists of."""
        await self._stop_flusher()
        if isinstance(event, Final):
            text = event.text or self._text
        elif event.cancelled:
            if self._first is None and not self._text:
                return self.sent_ids
            text = (self._text or "") + STOPPED_MARK
        else:
            text = f"{self._text}\n\n⚠️ {event.message}" if self._text else f"⚠️ {event.message}"
        if not text.strip():
            text = "(no reply)"
        await self._write_final(text)
        return self.sent_ids

    async def _write_final(self, text: str) -> None:
        chunks = split_message(images_as_links(text), self.platform.max_message_chars)
        for index, chunk in enumerate(chunks):
            if index == 0 and self._first is not None:
                if chunk != self._shown:
                    await self.platform.edit(self._first, chunk)
                continue
            await self._send_chunk(index, chunk)

    async def _send_chunk(self, index: int, text: str) -> MessageRef:
        known = self.existing.get(index)
        if known is not None and self.platform.can_edit:
            ref = MessageRef(self.chat, known)
            await self.platform.edit(ref, text)
        else:
            ref = await self.platform.send(self.chat, text, idempotency_key=f"{self.key_prefix}:{index}")
            await self.record_sent(index, ref.message_id)
        self.sent_ids.append(ref.message_id)
        return ref

    def _preview(self) -> str:
        limit = self.platform.max_message_chars
        text = images_as_links(self._text)
        return text if len(text) <= limit else text[: limit - 1] + "…"

    async def _stream_update(self) -> None:
        if self._first is None:
            if not self._text.strip():
                return
            self._shown = self._preview()
            self._first = await self._send_chunk(0, self._shown)
            self.throttle.record(time.monotonic())
            return
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        delay = self.throttle.wait_time(time.monotonic())
        if delay is None:
            return
        await asyncio.sleep(delay)
        preview = self._preview()
        if self._first is not None and preview != self._shown:
            try:
                await self.platform.edit(self._first, preview)
            except Exception as exc:
                # A lost intermediate edit is harmless: the final text is always written.
                log.warning("%s: streaming edit failed: %s", self.platform.name, exc)
                return
            self._shown = preview
            self.throttle.record(time.monotonic())

    async def _stop_flusher(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def _progress(self, line: str) -> None:
        self._progress_lines.append(line)
        text = "\n".join(self._progress_lines[-20:])
        if self._progress_ref is not None and self.platform.can_edit:
            await self.platform.edit(self._progress_ref, text)
            return
        key = f"{self.key_prefix}:tool:{len(self._progress_lines)}"
        body = text if self.streaming else line
        self._progress_ref = await self.platform.send(self.chat, body, idempotency_key=key)


@contextlib.asynccontextmanager
async def typing_shown(platform: Platform, chat: ChatRef) -> AsyncIterator[None]:
    """The platform's typing indicator in `chat`, refreshed while the block runs and turned off after it;
    an indicator that fails is only logged."""
    refresher = asyncio.create_task(_keep_typing(platform, chat))
    try:
        yield
    finally:
        refresher.cancel()
        await asyncio.gather(refresher, return_exceptions=True)
        await _quietly(platform.typing(chat, False))


async def _keep_typing(platform: Platform, chat: ChatRef) -> None:
    while True:
        await _quietly(platform.typing(chat, True))
        await asyncio.sleep(platform.typing_refresh_seconds)


async def _quietly(awaitable: Awaitable[object]) -> None:
    try:
        await awaitable
    except Exception as exc:
        log.debug("typing indicator failed: %s", exc)
