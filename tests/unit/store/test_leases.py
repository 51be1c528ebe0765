from __future__ import annotations

import asyncio

import pytest

from hermes.store import LeaseFence, LeaseLostError, Store

PAYLOAD = {"text": "hi"}


async def test_a_free_lease_is_taken_once_and_others_wait(store: Store) -> None:
    assert await store.leases.acquire("platform:matrix", "a", ttl=30) == 1
    assert await store.leases.acquire("platform:matrix", "b", ttl=30) is None
    assert await store.leases.acquire("platform:matrix", "a", ttl=30) is None  # held: renew, not acquire
    [state] = await store.leases.all()
    assert (state.name, state.holder, state.token) == ("platform:matrix", "a", 1)
    assert state.expires_at == pytest.approx(state.renewed_at + 30)


async def test_many_replicas_racing_for_one_lease_get_one_holder(store: Store) -> None:
    tokens = await asyncio.gather(*(store.leases.acquire("scheduler", f"r{i}", ttl=30) for i in range(20)))
    assert [token for token in tokens if token is not None] == [1]


async def test_an_expired_lease_changes_hands_with_a_higher_token(store: Store) -> None:
    first = await store.leases.acquire("platform:mattermost", "a", ttl=0.3)
    assert first == 1
    await asyncio.sleep(0.4)
    assert await store.leases.acquire("platform:mattermost", "b", ttl=30) == 2
    # The old holder's renewal fails: it must stop.
    assert not await store.leases.renew(LeaseFence("platform:mattermost", "a", 1), ttl=30)
    assert await store.leases.renew(LeaseFence("platform:mattermost", "b", 2), ttl=30)


async def test_a_released_lease_is_taken_at_once_and_tokens_never_go_back(store: Store) -> None:
    token = await store.leases.acquire("platform:matrix", "a", ttl=30)
    assert token == 1
    await store.leases.release(LeaseFence("platform:matrix", "a", token))
    assert await store.leases.acquire("platform:matrix", "b", ttl=30) == 2


async def test_a_fenced_record_needs_the_lease(store: Store) -> None:
    assert await store.inbox.accept("matrix", "$e1", PAYLOAD, cursor=None)
    old = LeaseFence("platform:matrix", "a", await store.leases.acquire("platform:matrix", "a", ttl=0.3) or 0)
    await store.inbox.record_sent("matrix", "$e1", 0, "$reply0", fence=old)
    await asyncio.sleep(0.4)
    new_token = await store.leases.acquire("platform:matrix", "b", ttl=30)
    assert new_token == 2

    with pytest.raises(LeaseLostError, match="no longer held"):
        await store.inbox.record_sent("matrix", "$e1", 1, "$stale", fence=old)
    await store.inbox.record_sent("matrix", "$e1", 1, "$reply1", fence=LeaseFence("platform:matrix", "b", 2))
    assert await store.inbox.sent_chunks("matrix", "$e1") == {0: "$reply0", 1: "$reply1"}


async def test_replicas_check_in_and_are_listed_while_seen(store: Store) -> None:
    await store.leases.check_in("replica-a")
    await store.leases.check_in("replica-b")
    await store.leases.check_in("replica-a")
    listed = await store.leases.replicas(seen_within=60)
    assert [r.id for r in listed] == ["replica-a", "replica-b"]
    assert all(r.seen_at >= r.started_at for r in listed)
    assert abs(await store.leases.now() - listed[-1].seen_at) < 5
