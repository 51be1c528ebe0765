"""The media cache (`cache/media/<platform>/`): attachments downloaded so the agent can read them.

Files unused for `gateway.media_cache_days` are deleted at start and every six hours (0 keeps them for
ever). A platform reusing a cached file refreshes its mtime (`hermes.fileio.reuse_cached`), so age means
time since last use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Pruned:
    files: int = 0
    bytes: int = 0


def prune_old_files(root: Path, max_age_seconds: float, now: float) -> Pruned:
    """Deletes the files under `root` not modified for `max_age_seconds`. Blocking; call in a thread."""
    files = size = 0
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            try:
                stat = os.stat(path)
                if now - stat.st_mtime <= max_age_seconds:
                    continue
                os.unlink(path)
            except FileNotFoundError:
                continue
            files += 1
            size += stat.st_size
    return Pruned(files, size)


class MediaCachePruner:
    def __init__(self, root: Path, days: float) -> None:
        self.root = root
        self.max_age_seconds = days * 86400
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.max_age_seconds > 0:
            self._task = asyncio.create_task(self._run(), name="media-cache-pruner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def prune(self) -> Pruned:
        if self.max_age_seconds <= 0:
            return Pruned()
        pruned = await asyncio.to_thread(prune_old_files, self.root, self.max_age_seconds, time.time())
        if pruned.files:
            log.info(
                "media cache: removed %d file(s), %.1f MiB, unused for over %.0f day(s)",
                pruned.files,
                pruned.bytes / 1024 / 1024,
                self.max_age_seconds / 86400,
            )
        return pruned

    async def _run(self) -> None:
        while True:
            try:
                await self.prune()
            except OSError as exc:
                log.warning("media cache: pruning %s failed: %s", self.root, exc)
            await asyncio.sleep(PRUNE_EVERY_SECONDS)
