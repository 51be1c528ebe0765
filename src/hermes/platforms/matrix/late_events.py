"""Events that are read after their /sync batch, while syncing goes on: encrypted messages whose room key
is late (it arrives in a later batch, so waiting inside the batch could never see it).

Exactly once still holds: the cursor stored with later batches stays at the start of the oldest batch
that still has such an event pending, so a restart reads that batch again (the inbox drops what it had
already accepted). When the last pending event is done, the newest cursor is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from hermes.platforms.base import HubPort, Inbound

log = logging.getLogger(__name__)

PLATFORM = "matrix"


class LateEvents:
    def __init__(self, hub: HubPort) -> None:
        self.hub = hub
        # Held while a batch is handed over, so a late event never stores a cursor in the middle of one.
        self.lock = asyncio.Lock()
        self._pending: dict[str, int] = {}
        self._latest: str | None = None
        self._saved: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def saved(self) -> str | None:
        """The cursor stored last (by a batch or a late event)."""
        return self._saved

    @property
    def pending(self) -> int:
        return sum(self._pending.values())

    def add(self, since: str, work: Awaitable[Inbound | None]) -> None:
        """Hand `work`'s event to the hub once it is ready; `since` is the cursor its batch started at."""
        self._pending[since] = self._pending.get(since, 0) + 1
        task = asyncio.ensure_future(self._finish(since, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cursor(self, next_batch: str) -> str:
        """The cursor safe to store with a batch ending at `next_batch` (call with `lock` held)."""
        return next(iter(self._pending), next_batch)

    def handed_over(self, next_batch: str, saved: str | None) -> None:
        """A batch is with the hub; `saved` is the cursor stored with it, if any (call with `lock` held)."""
        self._latest = next_batch
        if saved is not None:
            self._saved = saved

    async def _finish(self, since: str, work: Awaitable[Inbound | None]) -> None:
        try:
            inbound = await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("matrix: reading a late event failed")
            inbound = None
        async with self.lock:
            try:
                if inbound is not None:
                    await self.hub.receive(inbound)
            except Exception:
                # Still pending: the cursor stays before its batch, which a restart reads again.
                log.exception("matrix: a late event could not be handed over")
                return
            self._pending[since] -= 1
            if not self._pending[since]:
                del self._pending[since]
            if self._latest is not None:
                cursor = self.cursor(self._latest)
                if cursor != self._saved:
                    await self.hub.save_cursor(PLATFORM, cursor)
                    self._saved = cursor

    async def close(self) -> None:
        """Cancels what is still waiting: its batch is read again after the restart."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
