"""Keeps one platform connected: retries a failed start with backoff, gives up on rejected credentials."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from hermes.backoff import Backoff
from hermes.platforms.base import CredentialsRejected, HubPort, Platform, StartRefused

log = logging.getLogger(__name__)

PlatformState = Literal["starting", "connected", "retrying", "stopped"]


class PlatformSupervisor:
    def __init__(
        self,
        platform: Platform,
        hub: HubPort,
        backoff: Backoff,
        *,
        on_connected: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        self.platform = platform
        self.hub = hub
        self.backoff = backoff
        self.on_connected = on_connected
        self.state: PlatformState = "starting"
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"supervise-{self.platform.name}")

    async def _run(self) -> None:
        name = self.platform.name
        while True:
            try:
                await self.platform.start(self.hub)
            except StartRefused as exc:
                self.state = "stopped"
                what = "credentials rejected" if isinstance(exc, CredentialsRejected) else "cannot start"
                self.platform.problem = f"{what}: {exc}"
                self.platform.halted = True
                log.error("%s: %s, platform stopped until restart: %s", name, what, exc)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.state = "retrying"
                delay = self.backoff.next_delay()
                self.platform.problem = f"cannot connect: {exc}"
                log.warning("%s: cannot connect (%s); retrying in %.1f s", name, exc, delay)
                await asyncio.sleep(delay)
                continue
            self.state = "connected"
            self.platform.problem = None
            self.backoff.reset()
            self.connected.set()
            log.info("%s: connected", name)
            if self.on_connected is not None:
                await self.on_connected(name)
            return

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.state == "connected":
            try:
                await self.platform.stop()
            except Exception:
                log.exception("%s: error while stopping", self.platform.name)
        self.state = "stopped"
