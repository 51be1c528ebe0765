"""A Hermes bot on the Discord emulator, its HERMES_HOME, and the fake LLM it talks to."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hermes.gateway.hub import Hub
from hermes.platforms.discord import DiscordPlatform
from hermes.platforms.discord import listener as discord_listener
from hermes.platforms.discord import options as discord_options
from tests.fakes.discord import Channel, DiscordEmulator, Guild, Message, User
from tests.fakes.llm import FakeLLM
from tests.harness.gateway import RunningGateway, gateway_in_process, hub_settled, llm_config, write_home


@dataclass
class DiscordBot:
    """The bot, three humans (carol is not on the allowlist), a guild with #general and #random."""

    dc: DiscordEmulator
    llm: FakeLLM
    home: Path
    bot: User
    token: str
    alice: User
    bob: User
    carol: User
    guild: Guild
    general: Channel
    random: Channel
    env: dict[str, str] = field(default_factory=dict)

    def configure(
        self,
        *,
        allowed: Iterable[User] | None = None,
        env: Mapping[str, str] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        people = [self.alice, self.bob] if allowed is None else list(allowed)
        self.env = {
            "DISCORD_BOT_TOKEN": self.token,
            "DISCORD_API_URL": self.dc.url,
            "DISCORD_ALLOWED_USERS": ",".join(u.id for u in people),
            **(env or {}),
        }
        tree = {"model": llm_config(self.llm.base_url), **(config or {})}
        write_home(self.home, config=tree, env=self.env)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RunningGateway]:
        if not self.env:
            self.configure()
        async with gateway_in_process(self.home) as gateway:
            await gateway.connected("discord", timeout=10)
            yield gateway

    def mention(self, text: str) -> str:
        return f"<@{self.bot.id}> {text}"

    def replies_in(self, channel: Channel | str) -> list[Message]:
        channel_id = channel if isinstance(channel, str) else channel.id
        return [m for m in self.dc.messages_in(self.dc.channel(channel_id)) if m.author_id == self.bot.id]

    async def reply(
        self, channel: Channel | str, match: Callable[[Message], bool] = lambda m: True, timeout: float = 5.0
    ) -> Message:
        channel_id = channel if isinstance(channel, str) else channel.id
        return await self.dc.wait_for_message(
            lambda m: m.author_id == self.bot.id and m.channel_id == channel_id and match(m), timeout
        )


def platform_of(gateway: RunningGateway) -> DiscordPlatform:
    platform = hub_of(gateway).platforms["discord"]
    assert isinstance(platform, DiscordPlatform)
    return platform


def hub_of(gateway: RunningGateway) -> Hub:
    assert gateway.gateway.hub is not None
    return gateway.gateway.hub


async def settled(gateway: RunningGateway, timeout: float = 10.0) -> None:
    await hub_settled(hub_of(gateway), timeout)


async def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backoff policy is unit-tested; here a dropped socket is retried at once."""
    monkeypatch.setattr(discord_options, "RECONNECT_MIN_SECONDS", 0.05)
    monkeypatch.setattr(discord_options, "RECONNECT_MAX_SECONDS", 0.2)
    monkeypatch.setattr(discord_listener, "INVALID_SESSION_PAUSE", (0.05, 0.1))
    monkeypatch.setattr(discord_listener, "GUILD_WAIT_SECONDS", 0.5)


@pytest.fixture
async def dc() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator() as emulator:
        yield emulator


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM(instant=True) as fake:
        yield fake


@pytest.fixture
def bot(dc: DiscordEmulator, llm: FakeLLM, tmp_path: Path) -> DiscordBot:
    account, token = dc.create_bot("hermes")
    alice = dc.create_user("alice")
    bob = dc.create_user("bob")
    carol = dc.create_user("carol")
    guild = dc.create_guild("core", [alice, bob, carol, account])
    general = dc.create_channel(guild, "general")
    random_ = dc.create_channel(guild, "random")
    return DiscordBot(dc, llm, tmp_path / "home", account, token, alice, bob, carol, guild, general, random_)
