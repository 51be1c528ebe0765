"""What one allowed person can do to everyone else: flood the bot (a per-person rate limit), or move the
home channel where scheduled answers go (the owner's decision)."""

from __future__ import annotations

import time

from hermes.platforms.base import AccessList
from hermes.testing import TestPlatform


async def test_a_flood_from_one_person_is_cut_at_the_limit(make_rig) -> None:
    rig = await make_rig(user_messages_per_minute=3)
    now = time.time()
    for n in range(6):
        await rig.platform.push("/whoami", user="@alice", sent_at=now + n)
    await rig.platform.push("/whoami", user="@bob", sent_at=now + 6)
    await rig.settled()
    texts = [m.text for m in rig.platform.messages]
    assert (
        texts.count("⏳ You are sending messages faster than 3 a minute; I am not answering the extra ones.")
        == 1
    )
    assert sum(t.startswith("You are alice") for t in texts) == 3
    assert sum(t.startswith("You are bob") for t in texts) == 1
    limited = [await rig.store.inbox.get("test", f"ev{n}") for n in (4, 5, 6)]
    assert all(e is not None and e.skip_reason == "rate limited" for e in limited)
    # A minute after the first, there is room again.
    await rig.platform.push("/whoami", user="@alice", sent_at=now + 61)
    await rig.settled()
    assert rig.platform.messages[-1].text.startswith("You are alice")


async def test_a_backlog_counts_by_when_it_was_written(make_rig) -> None:
    rig = await make_rig(user_messages_per_minute=3)
    written = time.time() - 600
    for n in range(6):
        await rig.platform.push("/whoami", user="@alice", sent_at=written + 30 * n)
    await rig.settled()
    assert [m.text.startswith("You are alice") for m in rig.platform.messages] == [True] * 6


async def test_only_the_owner_moves_the_home_channel(make_rig) -> None:
    rig = await make_rig(owners=frozenset({"test:@olivia"}))
    await rig.platform.push("/sethome", user="@bob", chat="bobs-room", kind="group")
    await rig.settled()
    assert rig.platform.messages[-1].text.startswith("🏠 Only the owner can set the home channel")
    assert await rig.store.homes.get("test") is None
    await rig.platform.push("/sethome", user="@olivia", chat="ops", kind="group")
    await rig.settled()
    home = await rig.store.homes.get("test")
    assert home is not None and home.chat_id == "ops" and home.set_by == "@olivia"


async def test_the_single_allowed_person_is_the_owner(make_rig) -> None:
    rig = await make_rig(platform=TestPlatform(access=AccessList(frozenset({"@alice"}))))
    await rig.platform.push("/sethome", user="@alice", chat="ops", kind="group")
    await rig.settled()
    home = await rig.store.homes.get("test")
    assert home is not None and home.chat_id == "ops"
