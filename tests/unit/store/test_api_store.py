"""The API server's repositories in the store (stored responses, client keys) on each engine."""

from __future__ import annotations

import pytest

from hermes.store import Store
from hermes.store.api_responses import StoredResponse

from .conftest import FakeClock


def response(
    response_id: str, owner: str = "admin", conversation: str | None = None, **body: object
) -> StoredResponse:
    return StoredResponse(
        response_id, owner, "s1", 2, "be brief", conversation, "completed", {"id": response_id, **body}, 1.0
    )


async def test_responses_are_saved_replaced_read_and_deleted(store: Store, clock: FakeClock) -> None:
    await store.api_responses.save(response("r1", status="in_progress"))
    await store.api_responses.save(response("r1", conversation="chat", status="completed"))
    stored = await store.api_responses.get("r1")
    assert stored is not None and stored.body == {"id": "r1", "status": "completed"}
    assert (stored.session_id, stored.message_count, stored.instructions) == ("s1", 2, "be brief")
    clock.advance(1)
    await store.api_responses.save(response("r2", conversation="chat"))
    latest = await store.api_responses.latest_in_conversation("admin", "chat")
    assert latest is not None and latest.id == "r2"
    assert await store.api_responses.latest_in_conversation("bob", "chat") is None
    assert await store.api_responses.delete("r2") and not await store.api_responses.delete("r2")
    assert await store.api_responses.get("r2") is None


async def test_responses_are_pruned_by_age_then_by_count(store: Store, clock: FakeClock) -> None:
    for index in range(5):
        await store.api_responses.save(response(f"r{index}"))
        clock.advance(10)
    assert await store.api_responses.prune(older_than=clock.now - 35, keep_at_most=100) == 2
    assert await store.api_responses.prune(older_than=0, keep_at_most=2) == 1
    assert [await store.api_responses.get(f"r{i}") is not None for i in range(5)] == [
        False,
        False,
        False,
        True,
        True,
    ]


async def test_client_keys(store: Store) -> None:
    created = await store.api_keys.create("ci", "secret-key-1", ["read", "chat"])
    assert created.scopes == ("chat", "read") and created.revoked_at is None
    found = await store.api_keys.find("secret-key-1")
    assert found is not None and found.name == "ci"
    assert await store.api_keys.find("other") is None
    with pytest.raises(ValueError, match="exists"):
        await store.api_keys.create("ci", "secret-key-2", ["chat"])
    with pytest.raises(ValueError, match="scopes"):
        await store.api_keys.create("x", "secret-key-3", ["root"])
    assert await store.api_keys.revoke("ci") and not await store.api_keys.revoke("ci")
    assert await store.api_keys.find("secret-key-1") is None
    [listed] = await store.api_keys.all()
    assert listed.revoked_at is not None and listed.last_used_at is not None
