"""The catch-up's reading of history, against the emulator's REST: per-channel boundaries, the overlap for
channels without one, the message-age window, and paging."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from hermes.platforms.discord import catchup
from hermes.platforms.discord.catchup import Cursor, read_backlog, snowflake_at
from hermes.platforms.discord.rest import RestClient
from tests.fakes.discord import DiscordEmulator
from tests.fakes.discord.model import Message


@pytest.fixture
async def dc() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator() as emulator:
        emulator.limiter.enabled = False
        yield emulator


def _old(dc: DiscordEmulator, channel_id: str, author: str, content: str, seconds_ago: float) -> Message:
    message_id = str(snowflake_at(time.time() * 1000 - seconds_ago * 1000) | 7)
    message = Message(message_id, channel_id, author, content, history=[content])
    dc.world.messages[message_id] = message
    return message


async def test_each_channel_is_read_after_its_own_cursor_and_within_the_age_window(
    dc: DiscordEmulator,
) -> None:
    bot, token = dc.create_bot("hermes")
    alice = dc.create_user("alice")
    guild = dc.create_guild("g", [alice, bot])
    general, random_ = dc.create_channel(guild, "general"), dc.create_channel(guild, "random")
    dm = dc.dm_channel(alice)
    _old(dc, dm.id, alice.id, "two days old", 2 * 86400)
    seen = await dc.post_as(alice, general, "already handed over")
    fresh = [
        await dc.post_as(alice, general, "after the cursor"),
        await dc.post_as(alice, random_, "in a channel without a cursor"),
        await dc.post_as(alice, dm, "in a remembered DM"),
    ]
    cursor = Cursor(int(seen.id), {general.id: int(seen.id), dm.id: snowflake_at(0)})
    rest = RestClient(dc.url, token)
    try:
        found = await read_backlog(rest, [general.id, random_.id], cursor, time.time() * 1000, 86400)
    finally:
        await rest.close()
    assert [m["content"] for m in found] == [m.content for m in fresh]


async def test_a_long_backlog_is_read_page_by_page(
    dc: DiscordEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catchup, "PAGE", 3)
    _, token = dc.create_bot("hermes")
    alice = dc.create_user("alice")
    dm = dc.dm_channel(alice)
    start = await dc.post_as(alice, dm, "start")
    sent = [await dc.post_as(alice, dm, f"m{i}") for i in range(8)]
    rest = RestClient(dc.url, token)
    try:
        found = await read_backlog(
            rest, [], Cursor(int(start.id), {dm.id: int(start.id)}), time.time() * 1000, 3600
        )
    finally:
        await rest.close()
    assert [m["id"] for m in found] == [m.id for m in sent]
