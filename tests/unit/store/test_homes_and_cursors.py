from __future__ import annotations

import pytest

from hermes.store import HomeChannel, Store
from tests.unit.store.conftest import FakeClock


async def test_home_channels_are_set_replaced_and_cleared(store: Store, clock: FakeClock) -> None:
    assert await store.homes.get("matrix") is None

    first = await store.homes.set("matrix", "!old:example.org", set_by="@alice:example.org")
    assert first == HomeChannel("matrix", "!old:example.org", None, "@alice:example.org", clock.now)
    clock.advance(1)
    replaced = await store.homes.set("matrix", "!new:example.org", "$thread", set_by="@bob:example.org")
    mattermost = await store.homes.set("mattermost", "town-square")

    assert await store.homes.get("matrix") == replaced
    assert replaced.thread_id == "$thread" and replaced.set_at == clock.now
    assert await store.homes.all() == [replaced, mattermost]

    assert await store.homes.clear("matrix") is True
    assert await store.homes.clear("matrix") is False
    assert await store.homes.all() == [mattermost]


async def test_a_home_needs_a_chat(store: Store) -> None:
    with pytest.raises(ValueError, match="chat_id"):
        await store.homes.set("matrix", "")
    assert await store.homes.all() == []


async def test_cursors_are_per_platform(store: Store) -> None:
    assert await store.cursors.get("matrix") is None
    await store.cursors.set("matrix", "s1")
    await store.cursors.set("mattermost", "1700000000000")
    await store.cursors.set("matrix", "s2")
    assert await store.cursors.get("matrix") == "s2"
    assert await store.cursors.get("mattermost") == "1700000000000"

    with pytest.raises(ValueError, match="string"):
        await store.cursors.set("matrix", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="string"):
        await store.inbox.save_cursor("matrix", None)  # type: ignore[arg-type]
    assert await store.cursors.get("matrix") == "s2"
