"""A lease keeper that cannot renew stands down before its lease expires in the database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from hermes.gateway.leases import HeldLease, LeaseKeeper
from hermes.store import Store

TTL = 1.5


async def test_a_keeper_whose_renewals_fail_stands_down_before_the_lease_expires(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "state.db")
    lease = HeldLease(store.leases, "platform:test", "this-replica", ttl=TTL)
    stood_down: list[float] = []

    async def acquired() -> None:
        return None

    async def lost() -> None:
        assert not lease.held()
        stood_down.append(time.time())

    keeper = LeaseKeeper(lease, acquired, lost, poll_seconds=0.05)
    keeper.start()
    try:
        async with asyncio.timeout(5):
            await keeper.holding.wait()
        # Every renewal from now on raises, as with a database that cannot be reached.
        await store.close()
        async with asyncio.timeout(5):
            while not stood_down:
                await asyncio.sleep(0.01)
        assert not keeper.holding.is_set()
    finally:
        await keeper.stop()
    # The last renewal that got through set the expiry (by the database's clock, this host's here).
    reopened = await Store.open(tmp_path / "state.db")
    try:
        [state] = await reopened.leases.all()
    finally:
        await reopened.close()
    assert stood_down[0] < state.expires_at
