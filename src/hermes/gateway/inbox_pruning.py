"""Keeps the inbox from growing for ever: answered (or skipped) events are forgotten once old enough.

The inbox only needs an event while a platform could deliver it again (a replay, a reconnect's catch-up).
Every event older than `gateway.max_message_age_seconds` is skipped as too old when it comes back, so
keeping finished events at least that long means a forgotten event can never be answered twice. Pruning
runs at start and every hour, in small transactions so that the writes of live events never wait long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from hermes.store.inbox import Inbox

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0
BATCH = 500


class InboxPruner:
    def __init__(
        self,
        inbox: Inbox,
        retention_days: float,
        max_message_age_seconds: float,
        *,
        every: float = PRUNE_EVERY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inbox = inbox
        # 0 keeps everything; otherwise never shorter than the age past which a replay is ignored.
        days = retention_days * 86400
        self.retention_seconds = max(days, max_message_age_seconds) if days > 0 else 0.0
        self.every = every
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.retention_seconds > 0:
            self._task = asyncio.create_task(self._run(), name="inbox-pruner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def prune(self) -> int:
        """Forget what finished before the retention window; returns how many events."""
        if self.retention_seconds <= 0:
            return 0
        cutoff = self.clock() - self.retention_seconds
        total = 0
        while True:
            pruned = await self.inbox.prune(cutoff, limit=BATCH)
            total += pruned
            if pruned < BATCH:
                break
            # Let the live events' writes in between two batches.
            await asyncio.sleep(0)
        if total:
            days = self.retention_seconds / 86400
            log.info("inbox: forgot %d event(s) finished over %.1f day(s) ago", total, days)
        return total

    async def _run(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:
                log.exception("inbox: pruning failed; trying again in %.0f s", self.every)
            await asyncio.sleep(self.every)
