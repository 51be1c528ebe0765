"""Processing reactions (DISCORD_REACTIONS): 👀 on a message when the bot takes it, ✅ instead once the
run in its chat has ended.

Reactions are decoration: they go out in the background so that neither taking the next message nor
finishing a run waits on them, and a failed one is only logged. Each message's ✅ waits for its own 👀 to
land first, so the 👀 is never left behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

PROCESSING, DONE = "👀", "✅"

React = Callable[[str, str, str, bool], Awaitable[None]]
ChatKey = tuple[str, str | None]


class ProcessingMarks:
    def __init__(self, react: React) -> None:
        self.react = react
        self._pending: dict[ChatKey, list[tuple[str, str, asyncio.Task[None]]]] = defaultdict(list)
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def taken(self, chat: ChatKey, channel_id: str, message_id: str) -> None:
        marked = self._spawn(self.react(channel_id, message_id, PROCESSING, True))
        self._pending[chat].append((channel_id, message_id, marked))

    def finished(self, chat: ChatKey) -> None:
        for channel_id, message_id, marked in self._pending.pop(chat, []):
            self._spawn(self._swap(channel_id, message_id, marked))

    async def _swap(self, channel_id: str, message_id: str, marked: asyncio.Task[None]) -> None:
        await asyncio.gather(marked, return_exceptions=True)
        await self.react(channel_id, message_id, PROCESSING, False)
        await self.react(channel_id, message_id, DONE, True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
