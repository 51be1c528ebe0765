"""The REST driver against the emulator: errors, rate limits, retries, downloads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from hermes.platforms.mattermost.rest import (
    IDEMPOTENCY_PROP,
    FileTooLarge,
    MattermostError,
    RateGate,
    RestClient,
)
from tests.fakes.mattermost import MattermostEmulator, User


class FakeTime:
    """A clock that only moves when the client sleeps, so waits are measured, not waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
async def mm() -> AsyncIterator[MattermostEmulator]:
    async with MattermostEmulator() as emulator:
        yield emulator


@pytest.fixture
def bot(mm: MattermostEmulator) -> tuple[User, str]:
    return mm.create_bot("hermes")


async def client(url: str, token: str, time: FakeTime) -> RestClient:
    return RestClient(url, token, sleep=time.sleep, clock=time.clock)


async def test_429s_are_waited_out_as_retry_after_says(mm: MattermostEmulator, bot: tuple[User, str]) -> None:
    time = FakeTime()
    rest = await client(mm.url, bot[1], time)
    mm.force_429(2, path_prefix="/api/v4/users/me")
    try:
        me = await rest.me()
    finally:
        await rest.close()
    assert me["id"] == bot[0].id
    assert [r.status for r in mm.requests] == [429, 429, 200]
    assert sum(time.sleeps) >= 2.0  # Retry-After: 1, twice


async def test_best_effort_calls_give_up_on_a_429_and_hold_the_others(
    mm: MattermostEmulator, bot: tuple[User, str]
) -> None:
    time = FakeTime()
    rest = await client(mm.url, bot[1], time)
    channel = mm.direct_channel(mm.create_user("alice"), bot[0])
    mm.force_429(1)
    try:
        with pytest.raises(MattermostError) as refused:
            await rest.typing(channel.id)
        assert refused.value.status == 429 and refused.value.message == "limit exceeded"
        assert time.sleeps == []
        await rest.me()
    finally:
        await rest.close()
    assert time.sleeps and time.sleeps[0] == pytest.approx(1.0)


def test_a_spent_quota_spaces_the_next_request_by_one_token() -> None:
    time = FakeTime()
    gate = RateGate(time.sleep, time.clock)
    gate.observe(200, {"X-Ratelimit-Limit": "101", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "11"})
    assert gate.not_before - time.now == pytest.approx(11 / 101)
    gate.observe(200, {"X-Ratelimit-Limit": "101", "X-Ratelimit-Remaining": "5", "X-Ratelimit-Reset": "1"})
    assert gate.not_before - time.now == pytest.approx(11 / 101)
    assert gate.observe(429, {"Retry-After": "3"}) == 3.0


async def test_errors_carry_the_servers_id_and_message(mm: MattermostEmulator) -> None:
    rest = RestClient(mm.url, "wrong-token")
    try:
        with pytest.raises(MattermostError) as error:
            await rest.me()
    finally:
        await rest.close()
    assert error.value.status == 401
    assert error.value.error_id == "api.context.session_expired.app_error"
    assert "Invalid or expired session" in error.value.message


async def test_an_unreachable_server_is_retried_within_the_budget_then_reported() -> None:
    time = FakeTime()
    rest = await client("http://127.0.0.1:9", "t", time)
    try:
        with pytest.raises(aiohttp.ClientConnectionError):
            await rest.me()
    finally:
        await rest.close()
    assert len(time.sleeps) >= 3
    assert sum(time.sleeps) <= 10.0


async def test_downloads_stop_at_the_size_limit(mm: MattermostEmulator, bot: tuple[User, str]) -> None:
    alice = mm.create_user("alice")
    dm = mm.direct_channel(alice, bot[0])
    info = await mm.upload_as(alice, dm, "data.bin", b"x" * 200_000)
    await mm.post_as(alice, dm, "", file_ids=[info.id])
    rest = RestClient(mm.url, bot[1])
    try:
        assert await rest.file(info.id, 200_000) == b"x" * 200_000
        with pytest.raises(FileTooLarge):
            await rest.file(info.id, 100_000)
    finally:
        await rest.close()


async def test_a_create_of_unknown_outcome_finds_its_post_instead_of_sending_it_again(
    mm: MattermostEmulator, bot: tuple[User, str]
) -> None:
    dm = mm.direct_channel(mm.create_user("alice"), bot[0])
    rest = RestClient(mm.url, bot[1])
    mm.restart_during_next("POST", "/api/v4/posts", downtime=0.2)
    try:
        created = await rest.create_post(dm.id, "only once", pending_post_id=f"{bot[0].id}:ev1:0")
    finally:
        await rest.close()
    assert [(p.id, p.message) for p in mm.posts_in(dm)] == [(created["id"], "only once")]
    assert mm.posts_in(dm)[0].props[IDEMPOTENCY_PROP] == f"{bot[0].id}:ev1:0"
    assert [r.method for r in mm.requests if r.status < 400] == ["POST", "GET"]


async def test_a_create_that_never_reached_the_server_is_sent_without_looking(
    mm: MattermostEmulator, bot: tuple[User, str]
) -> None:
    dm = mm.direct_channel(mm.create_user("alice"), bot[0])
    rest = RestClient(mm.url, bot[1])
    restart = asyncio.create_task(mm.restart(downtime=0.5))
    await asyncio.sleep(0.05)
    try:
        await rest.create_post(dm.id, "after the restart", pending_post_id=f"{bot[0].id}:ev2:0")
    finally:
        await rest.close()
        await restart
    assert [p.message for p in mm.posts_in(dm)] == ["after the restart"]
    assert [r.method for r in mm.requests] == ["POST"]
