"""One lane per session: runs happen one at a time per session, never interleaved."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from hermes.platforms.base import Inbound


@dataclass
class Lane:
    key: str
    waiting: deque[Inbound] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None
    cancel: asyncio.Event | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def interrupt(self) -> bool:
        """Ask the current run to stop; True when there was one."""
        if self.busy and self.cancel is not None and not self.cancel.is_set():
            self.cancel.set()
            return True
        return False

    def take(self, merge: bool) -> list[Inbound]:
        """The next input to run: one message, or in interrupt mode everything that piled up meanwhile,
        so the new run sees all of it at once."""
        if merge:
            batch = list(self.waiting)
            self.waiting.clear()
            return batch
        return [self.waiting.popleft()]
