"""The agent run for a batch of chat inputs: one question from their texts, their images, and the chat
they came from."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hermes.agent.contract import ImageInput, Origin, RunRequest
from hermes.platforms.base import Inbound, Platform


async def chat_request(
    session_key: str, batch: list[Inbound], platform: Platform, memory_scope: str | None
) -> RunRequest:
    """The run for `batch` (oldest first; the newest is who and where the reply goes to)."""
    last = batch[-1]
    return RunRequest(
        session_key=session_key,
        text="\n\n".join(item.text for item in batch),
        platform=platform.name,
        chat_kind=last.chat.kind,
        platform_hint=platform.prompt_hint,
        user_id=last.sender_id,
        user_name=last.sender_name,
        images=await _images(batch),
        memory_scope=memory_scope,
        origin=Origin(
            platform.name,
            last.chat.chat_id,
            last.chat.kind,
            last.chat.thread_id,
            last.sender_id,
            last.event_id,
        ),
    )


async def _images(batch: list[Inbound]) -> tuple[ImageInput, ...]:
    files = [a for item in batch for a in item.attachments if a.mime_type.startswith("image/")]
    if not files:
        return ()

    def read_all() -> tuple[ImageInput, ...]:
        return tuple(ImageInput(a.mime_type, Path(a.path).read_bytes()) for a in files)

    return await asyncio.to_thread(read_all)
