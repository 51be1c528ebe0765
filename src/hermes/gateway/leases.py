"""Holding a platform (or the scheduler) through a lease, so replicas sharing PostgreSQL take turns.

A keeper tries to take its lease, starts what it guards once it has it, renews it every third of its
lifetime, and stops what it guards the moment the lease may have passed on. Whether the lease is still
held is judged on this host's monotonic clock, conservatively: the lease is valid until the moment the
renewal request was *sent* plus its lifetime, minus a margin, which is never later than the expiry the
database recorded. So a holder cut off from the database stops sending before any standby may start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from hermes.platforms.base import FenceLost
from hermes.store import LeaseFence, Leases, StoreError

log = logging.getLogger(__name__)

# Kept free at the end of a lease's life: for clock drift, and for a send started just before the end.
SAFETY_MARGIN_FRACTION = 0.2


class HeldLease:
    """One lease as this replica sees it: the fence for sends (`check`) and for records (`fence`)."""

    def __init__(
        self,
        leases: Leases,
        name: str,
        holder: str,
        ttl: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        listeners: list[Callable[[], object]] | None = None,
    ) -> None:
        self.leases = leases
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self._clock = clock
        self._token: int | None = None
        self._valid_until = 0.0
        # Called whenever the lease is taken; a list shared by several leases calls them for any of them.
        self._listeners = listeners if listeners is not None else []

    @property
    def fence(self) -> LeaseFence | None:
        return None if self._token is None else LeaseFence(self.name, self.holder, self._token)

    def held(self) -> bool:
        return self._token is not None and self._clock() < self._valid_until

    def check(self) -> None:
        if not self.held():
            raise FenceLost(f"{self.name}: this replica no longer holds the lease")

    def when_acquired(self, callback: Callable[[], object]) -> None:
        """Call `callback` each time this replica takes the lease (or one sharing its listeners), so what
        waits for it need not poll."""
        self._listeners.append(callback)

    async def acquire(self) -> bool:
        sent = self._clock()
        token = await self.leases.acquire(self.name, self.holder, self.ttl)
        if token is None:
            return False
        self._token = token
        self._valid_until = sent + self.ttl * (1 - SAFETY_MARGIN_FRACTION)
        for callback in self._listeners:
            callback()
        return True

    async def renew(self) -> bool:
        fence = self.fence
        if fence is None:
            return False
        sent = self._clock()
        if not await self.leases.renew(fence, self.ttl):
            self.forget()
            return False
        self._valid_until = sent + self.ttl * (1 - SAFETY_MARGIN_FRACTION)
        return True

    def remaining(self) -> float:
        return max(0.0, self._valid_until - self._clock())

    @contextlib.asynccontextmanager
    async def cancelling(self, cancel: asyncio.Event) -> AsyncIterator[None]:
        """Sets `cancel` if the lease lapses while the block runs."""

        async def watch() -> None:
            await self.lapsed()
            cancel.set()

        watcher = asyncio.create_task(watch())
        try:
            yield
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def lapsed(self) -> None:
        """Return once the lease can no longer be shown to be held: at the end of its validity, unless
        a renewal extended it meanwhile."""
        # Timed, not signalled: validity ends by the clock, with nothing happening.
        while True:
            left = self.remaining()
            if left <= 0:
                return
            await asyncio.sleep(left)

    def forget(self) -> None:
        self._token = None
        self._valid_until = 0.0

    async def release(self) -> None:
        fence = self.fence
        self.forget()
        if fence is not None:
            with contextlib.suppress(StoreError):
                await self.leases.release(fence)


class LeaseKeeper:
    """Runs `on_acquired` while the lease is held and `on_lost` when it is not any more, for ever."""

    def __init__(
        self,
        lease: HeldLease,
        on_acquired: Callable[[], Awaitable[object]],
        on_lost: Callable[[], Awaitable[object]],
        *,
        poll_seconds: float,
    ) -> None:
        self.lease = lease
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.poll_seconds = poll_seconds
        self.holding = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"lease-{self.lease.name}")

    async def stop(self) -> None:
        """Stop what is guarded, then give the lease up so a standby takes over at once."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.holding.is_set():
            self.holding.clear()
            await self.on_lost()
        await self.lease.release()

    async def _run(self) -> None:
        name = self.lease.name
        while True:
            await self._acquire()
            log.info("%s: lease taken (token %s); this replica holds it", name, self.lease.fence)
            self.holding.set()
            await self.on_acquired()
            await self._keep()
            self.holding.clear()
            log.warning("%s: lease lost; stopping here, another replica takes over", name)
            await self.on_lost()

    async def _acquire(self) -> None:
        unreachable = False
        while True:
            try:
                if await self.lease.acquire():
                    return
                unreachable = False
            except StoreError as exc:
                # Said once per outage: a standby cut off from the database looks every poll.
                if not unreachable:
                    log.warning("%s: cannot reach the database to take the lease: %s", self.lease.name, exc)
                unreachable = True
            await asyncio.sleep(self.poll_seconds)

    async def _keep(self) -> None:
        """Renew every third of the lease's life until the renewal is refused, or until the lease can no
        longer be shown to be held. After a failed renewal the next wake-up is at the latest the end of
        the conservative validity, so a holder cut off from the database stands down then, before the
        lease expires in the database and a standby may take it."""
        lease = self.lease
        while True:
            await asyncio.sleep(min(lease.ttl / 3, lease.remaining()))
            remaining = lease.remaining()
            if remaining <= 0:
                log.warning("%s: could not renew the lease in time; standing down", lease.name)
                lease.forget()
                return
            try:
                async with asyncio.timeout(remaining):
                    if not await lease.renew():
                        return
            except (StoreError, TimeoutError) as exc:
                log.warning(
                    "%s: cannot renew the lease (%s); %.1f s left", lease.name, exc, lease.remaining()
                )
