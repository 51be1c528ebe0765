"""A replica whose platform lease lapses in the middle of a reply stops the run and leaves the event to the
replica that holds the platform now: it stays pending in the shared inbox, neither done nor failed here."""

from __future__ import annotations

import asyncio
from typing import Any

from hermes.gateway.leases import HeldLease
from tests.fakes.llm import Stall, Text

# Nobody renews the lease in these tests: it lapses after 80 % of this.
TTL = 0.5


async def lapsing_lease(rig: Any) -> HeldLease:
    lease = HeldLease(rig.store.leases, "platform:test", "this-replica", ttl=TTL)
    assert await lease.acquire()
    rig.platform.fence = lease
    return lease


async def until_idle(rig: Any) -> None:
    async with asyncio.timeout(10):
        while not rig.llm.chat_requests or rig.hub.runs_in_flight:
            await asyncio.sleep(0.01)


async def test_a_reply_streaming_when_the_lease_lapses_is_stopped_and_left_pending(make_rig: Any) -> None:
    rig = await make_rig()
    await lapsing_lease(rig)
    story = " ".join(f"word{i}" for i in range(60))
    rig.llm.script(Text(story, chunk_delay=0.05))
    inbound = await rig.platform.push("tell me a story")
    await until_idle(rig)
    event = await rig.store.inbox.get("test", inbound.event_id)
    assert event is not None and event.status == "pending" and event.skip_reason is None
    # What went out while the lease was held stays; the rest is the new holder's to finish in place.
    [message] = rig.platform.messages
    assert message.text.startswith("word0") and "word59" not in message.text


async def test_a_run_thinking_when_the_lease_lapses_is_stopped_and_left_pending(make_rig: Any) -> None:
    rig = await make_rig()
    await lapsing_lease(rig)
    rig.llm.script(Stall(seconds=30))
    inbound = await rig.platform.push("hello")
    async with asyncio.timeout(TTL * 10):
        await until_idle(rig)
    event = await rig.store.inbox.get("test", inbound.event_id)
    assert event is not None and event.status == "pending"
    assert rig.platform.messages == []
