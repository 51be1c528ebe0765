"""A replica that loses a platform's lease in the middle of a reply leaves the event to the replica that
holds the platform now: it stays pending in the shared inbox, neither answered nor marked failed here."""

from __future__ import annotations

import asyncio
from typing import Any

from hermes.gateway.leases import HeldLease
from tests.fakes.llm import Text


async def test_a_reply_cut_by_a_lost_lease_stays_pending_for_the_new_holder(make_rig: Any) -> None:
    rig = await make_rig()
    # Never taken here (another replica holds it): every send is refused.
    rig.platform.fence = HeldLease(rig.store.leases, "platform:test", "this-replica", ttl=30)
    rig.llm.script(Text("an answer this replica may not post"))
    inbound = await rig.platform.push("hello")
    async with asyncio.timeout(10):
        while not rig.llm.chat_requests or rig.hub.runs_in_flight:
            await asyncio.sleep(0.01)
    event = await rig.store.inbox.get("test", inbound.event_id)
    assert event is not None and event.status == "pending" and event.skip_reason is None
    assert rig.platform.messages == []
