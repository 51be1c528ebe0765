"""This gateway's part in a group of replicas sharing one PostgreSQL store.

Request-driven platforms (the API server) run on every replica. Each exclusive platform (one bot account,
one connection) and the scheduler are held by one replica at a time through a lease; the others stand by
and take over, resuming from the stored cursor and inbox, when the holder dies or loses the database.
With state.db (one host, one gateway) none of this runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable

from hermes.config.settings import StoreSettings
from hermes.gateway.leases import HeldLease, LeaseKeeper
from hermes.gateway.supervisor import PlatformSupervisor
from hermes.platforms.base import Platform
from hermes.store import Store, StoreError

log = logging.getLogger(__name__)

STANDBY = "standby: another replica holds it"
SESSION_LEASE_PREFIX = "session:"
# How often a run waiting for a session that another replica is running on looks again.
_SESSION_POLL_SECONDS = 0.05


class Replication:
    def __init__(self, store: Store, settings: StoreSettings) -> None:
        self.store = store
        self.ttl = settings.lease_seconds
        self.replica_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.keepers: dict[str, LeaseKeeper] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        # Told whenever this replica takes a platform or the scheduler: the scheduler runs each job under
        # its platform's lease, so it looks for due jobs whenever one of them is taken.
        self._taken: list[Callable[[], object]] = []

    @classmethod
    def for_store(cls, store: Store, settings: StoreSettings) -> Replication | None:
        return cls(store, settings) if store.db.dialect.name == "postgresql" else None

    def _lease(self, name: str, *, announced: bool = True) -> HeldLease:
        listeners = self._taken if announced else None
        return HeldLease(self.store.leases, name, self.replica_id, self.ttl, listeners=listeners)

    async def start(self) -> None:
        await self.store.leases.check_in(self.replica_id)
        self._heartbeat = asyncio.create_task(self._beat(), name="replica-heartbeat")
        log.info("replica %s: platforms are shared through leases of %.0f s", self.replica_id, self.ttl)

    def hold(self, platform: Platform, supervisor: PlatformSupervisor) -> None:
        """Connect `platform` only while this replica holds its lease; every send is fenced by it."""
        lease = self._lease(f"platform:{platform.name}")
        platform.fence = lease
        platform.problem, platform.standby = STANDBY, True

        async def acquired() -> None:
            platform.problem, platform.standby = None, False
            supervisor.start()

        async def lost() -> None:
            await supervisor.stop()
            platform.problem, platform.standby = STANDBY, True

        keeper = LeaseKeeper(lease, acquired, lost, poll_seconds=self.poll_seconds)
        self.keepers[platform.name] = keeper
        keeper.start()

    @contextlib.asynccontextmanager
    async def session_lock(self, session_key: str) -> AsyncIterator[None]:
        """One run at a time on an API session across every replica: held while the run goes, renewed,
        and dropped after. A replica that dies holding it delays the session by one lease at most."""
        lease = self._lease(f"{SESSION_LEASE_PREFIX}{session_key}", announced=False)
        # Polled: the holder may be another process on another host, which no local event can signal.
        while True:
            if await lease.acquire():
                break
            await asyncio.sleep(_SESSION_POLL_SECONDS)
        renewing = asyncio.create_task(self._renew(lease), name=f"renew-session-{session_key}")
        try:
            yield
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            fence = lease.fence
            lease.forget()
            if fence is not None:
                with contextlib.suppress(StoreError):
                    await self.store.leases.drop(fence)

    async def _renew(self, lease: HeldLease) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            with contextlib.suppress(StoreError):
                await lease.renew()

    async def let_go(self, platform: str) -> None:
        """Stop holding `platform` (its settings changed or it was removed): stop it, give its lease up."""
        keeper = self.keepers.pop(platform, None)
        if keeper is not None:
            await keeper.stop()

    def scheduler_lease(self) -> HeldLease:
        """The scheduler runs jobs for platforms without a lease of their own (and jobs whose platform is
        not running) only while this is held, so each job fires on one replica."""
        lease = self._lease("scheduler")

        async def nothing() -> None:
            return None

        keeper = LeaseKeeper(lease, nothing, nothing, poll_seconds=self.poll_seconds)
        self.keepers["scheduler"] = keeper
        keeper.start()
        return lease

    @property
    def poll_seconds(self) -> float:
        # A standby looks this often: takeover comes at most this long after the lease expires or is
        # given up. One small UPDATE per platform per look is cheap enough to look often.
        return min(2.0, max(0.2, self.ttl / 5))

    async def stop(self) -> None:
        """Stop what this replica holds and give its leases up, so a standby takes over at once."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        await asyncio.gather(*(keeper.stop() for keeper in self.keepers.values()))

    async def describe(self) -> dict[str, object]:
        """For `gateway status`: this replica, every replica seen lately, and who holds what."""
        return {
            "this_replica": self.replica_id,
            "lease_seconds": self.ttl,
            **await report(self.store, seen_within=max(60.0, 3 * self.ttl)),
        }

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            with contextlib.suppress(StoreError):
                await self.store.leases.check_in(self.replica_id)


async def report(store: Store, *, seen_within: float) -> dict[str, object]:
    """Every replica seen within `seen_within` seconds and who holds each platform's and the scheduler's
    lease, by the database's clock (session locks come and go with each API run and are left out)."""
    now = await store.leases.now()
    return {
        "replicas": [
            {"id": r.id, "host": r.host, "pid": r.pid, "seen_seconds_ago": round(now - r.seen_at, 1)}
            for r in await store.leases.replicas(seen_within)
        ],
        "leases": [
            {
                "name": lease.name,
                "holder": lease.holder if lease.expires_at > now else None,
                "token": lease.token,
                "renewed_seconds_ago": round(now - lease.renewed_at, 1),
                "expires_in_seconds": round(lease.expires_at - now, 1),
            }
            for lease in await store.leases.all()
            if not lease.name.startswith(SESSION_LEASE_PREFIX)
        ],
    }
