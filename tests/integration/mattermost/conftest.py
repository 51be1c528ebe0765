"""A Hermes bot on the Mattermost emulator, its HERMES_HOME, and the fake LLM it talks to."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hermes.gateway.hub import Hub
from hermes.platforms.mattermost import MattermostPlatform
from hermes.platforms.mattermost import options as mattermost_options
from tests.fakes.llm import FakeLLM
from tests.fakes.mattermost import Channel, MattermostEmulator, Post, Team, User
from tests.harness.gateway import RunningGateway, gateway_in_process, hub_settled, llm_config, write_home


@dataclass
class MattermostBot:
    """The bot account, three humans (carol is not on the allowlist) and a team with one open channel."""

    mm: MattermostEmulator
    llm: FakeLLM
    home: Path
    bot: User
    token: str
    alice: User
    bob: User
    carol: User
    team: Team
    town: Channel
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, mm: MattermostEmulator, llm: FakeLLM, home: Path) -> MattermostBot:
        """The bot account, alice, bob and carol in team "core", all four in its town square."""
        account, token = mm.create_bot("hermes", description="the agent")
        alice = mm.create_user("alice", first_name="Alice")
        bob = mm.create_user("bob")
        carol = mm.create_user("carol")
        team = mm.create_team("core", display_name="Core", members=[account, alice, bob, carol])
        members = [alice, bob, carol, account]
        town = mm.create_channel(team, "O", members, name="town-square", display_name="Town")
        return cls(mm, llm, home, account, token, alice, bob, carol, team, town)

    def configure(
        self,
        *,
        allowed: Iterable[User] | None = None,
        env: Mapping[str, str] | None = None,
        config: Mapping[str, Any] | None = None,
        llm_url: str | None = None,
    ) -> None:
        people = [self.alice, self.bob] if allowed is None else list(allowed)
        self.env = {
            "MATTERMOST_URL": self.mm.url,
            "MATTERMOST_TOKEN": self.token,
            "MATTERMOST_ALLOWED_USERS": ",".join(u.id for u in people),
            **(env or {}),
        }
        tree = {"model": llm_config(llm_url or self.llm.base_url), **(config or {})}
        write_home(self.home, config=tree, env=self.env)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RunningGateway]:
        if not self.env:
            self.configure()
        async with gateway_in_process(self.home) as gateway:
            await gateway.connected("mattermost", timeout=10)
            yield gateway

    def dm_with(self, user: User) -> Channel:
        return self.mm.direct_channel(user, self.bot)

    def replies_in(self, channel: Channel) -> list[Post]:
        return [p for p in self.mm.posts_in(channel) if p.user_id == self.bot.id]

    async def reply(
        self, channel: Channel, match: Callable[[Post], bool] = lambda p: True, timeout: float = 5.0
    ) -> Post:
        return await self.mm.wait_for_post(
            lambda p: p.user_id == self.bot.id and p.channel_id == channel.id and match(p), timeout
        )


def platform_of(gateway: RunningGateway) -> MattermostPlatform:
    hub = hub_of(gateway)
    platform = hub.platforms["mattermost"]
    assert isinstance(platform, MattermostPlatform)
    return platform


def hub_of(gateway: RunningGateway) -> Hub:
    assert gateway.gateway.hub is not None
    return gateway.gateway.hub


async def settled(gateway: RunningGateway, timeout: float = 10.0) -> None:
    """Until the inbox holds nothing unanswered and no run is in flight."""
    await hub_settled(hub_of(gateway), timeout)


async def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backoff policy is unit-tested; here a dropped socket is retried at once."""
    monkeypatch.setattr(mattermost_options, "RECONNECT_MIN_SECONDS", 0.05)
    monkeypatch.setattr(mattermost_options, "RECONNECT_MAX_SECONDS", 0.2)


@pytest.fixture
async def mm() -> AsyncIterator[MattermostEmulator]:
    async with MattermostEmulator() as emulator:
        yield emulator


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM(instant=True) as fake:
        yield fake


@pytest.fixture
def bot(mm: MattermostEmulator, llm: FakeLLM, tmp_path: Path) -> MattermostBot:
    return MattermostBot.create(mm, llm, tmp_path / "home")
