"""Dropped sockets and restarts: what a client sees, and what survives."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.fakes.mattermost import MattermostEmulator

from .conftest import World
from .support import Harness


async def test_drop_sockets_cuts_without_a_close_frame_and_keeps_rest_up(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    h.mm.drop_sockets()
    assert await socket.closed_abruptly()
    await h.mm.wait_for_sockets(world.bot, 0)
    assert (await h.rest(world.bot).get("/api/v4/users/me")).status == 200
    again = await h.socket(world.bot)
    hello = await again.event("hello")
    assert hello["seq"] == 0


async def test_missed_posts_are_found_through_since_after_a_drop(h: Harness, world: World) -> None:
    socket = await h.ready_socket(world.bot)
    before = await h.mm.post_as(world.alice, world.dm, "before")
    await socket.event("posted")
    h.mm.drop_sockets()
    await h.mm.wait_for_sockets(world.bot, 0)
    missed = await h.mm.post_as(world.alice, world.dm, "while away")
    listing = (
        await h.rest(world.bot).get(f"/api/v4/channels/{world.dm.id}/posts?since={before.create_at}")
    ).json
    assert listing["order"] == [missed.id]


async def test_restart_gives_a_new_stream_and_keeps_the_data(h: Harness, world: World) -> None:
    socket = await h.socket(world.bot)
    first_hello = await socket.event("hello")
    post = await h.mm.post_as(world.alice, world.dm, "survives")
    await h.mm.restart(version="9.11.3")
    assert await socket.closed_abruptly()
    again = await h.socket(world.bot)
    hello = await again.event("hello")
    assert hello["data"]["connection_id"] != first_hello["data"]["connection_id"]
    assert hello["data"]["server_version"] != first_hello["data"]["server_version"]
    assert hello["data"]["server_version"].startswith("9.11.3.")
    assert (await h.rest(world.bot).get(f"/api/v4/posts/{post.id}")).json["message"] == "survives"


async def test_restart_downtime_refuses_connections() -> None:
    async with MattermostEmulator() as mm, aiohttp.ClientSession() as session:
        task = asyncio.create_task(mm.restart(downtime=0.3))
        await asyncio.sleep(0.05)
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{mm.url}/api/v4/system/ping")
        await task
        assert (await session.get(f"{mm.url}/api/v4/system/ping")).status == 200


async def test_restart_cuts_idle_keep_alive_connections() -> None:
    """A restarted server's process is gone, and its TCP connections with it: a client's pooled connection
    is closed, so the next request opens a fresh one instead of waiting on a dead one."""
    async with MattermostEmulator() as mm, aiohttp.ClientSession() as session:
        assert (await session.get(f"{mm.url}/api/v4/system/ping")).status == 200
        await mm.restart()
        async with asyncio.timeout(2):
            assert (await session.get(f"{mm.url}/api/v4/system/ping")).status == 200


async def test_restart_forgets_pending_post_ids(h: Harness, world: World) -> None:
    first = await h.mm.post_as(world.bot, world.town, "x", pending_post_id="p")
    await h.mm.restart()
    second = await h.mm.post_as(world.bot, world.town, "x", pending_post_id="p")
    assert first.id != second.id


async def test_wait_for_post_sees_existing_new_and_edited_posts(h: Harness, world: World) -> None:
    old = await h.mm.post_as(world.alice, world.town, "old")
    assert await h.mm.wait_for_post(lambda p: p.message == "old", timeout=0.1) is old
    draft = await h.mm.post_as(world.bot, world.town, "thinking")
    waiting = h.mm.wait_for_post(lambda p: p.user_id == world.bot.id and p.message == "done", timeout=1)
    task = asyncio.ensure_future(waiting)
    await asyncio.sleep(0)
    await h.mm.edit_as(world.bot, draft, "done")
    assert (await task).id == draft.id
    with pytest.raises(TimeoutError):
        await h.mm.wait_for_post(lambda p: p.message == "never", timeout=0.05)
