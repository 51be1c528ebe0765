"""A Hermes bot on the Slack emulator, its HERMES_HOME, and the fake LLM it talks to."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hermes.gateway.hub import Hub
from hermes.platforms.slack import SlackPlatform
from hermes.platforms.slack import options as slack_options
from tests.fakes.llm import FakeLLM
from tests.fakes.slack import Conversation, Message, SlackEmulator, User
from tests.harness.gateway import RunningGateway, gateway_in_process, hub_settled, llm_config, write_home


@dataclass
class SlackBot:
    """The app's bot, three humans (carol is not on the allowlist) and a channel all four are in."""

    slack: SlackEmulator
    llm: FakeLLM
    home: Path
    alice: User
    bob: User
    carol: User
    general: Conversation
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
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_APP_TOKEN": self.slack.app_token,
            "SLACK_ALLOWED_USERS": ",".join(u.id for u in people),
            "SLACK_API_URL": self.slack.api_url,
            **(env or {}),
        }
        tree = {"model": llm_config(self.llm.base_url), **(config or {})}
        write_home(self.home, config=tree, env=self.env)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RunningGateway]:
        if not self.env:
            self.configure()
        async with gateway_in_process(self.home) as gateway:
            await gateway.connected("slack", timeout=10)
            await platform_of(gateway).connection.listener.caught_up.wait()  # type: ignore[union-attr]
            yield gateway

    @property
    def mention(self) -> str:
        return f"<@{self.slack.bot.id}>"

    def dm(self, user: User) -> Conversation:
        return self.slack.dm(user)

    def replies_in(self, conv: Conversation) -> list[Message]:
        return self.slack.bot_messages(conv)

    async def reply(
        self, conv: Conversation, match: Callable[[Message], bool] = lambda m: True, timeout: float = 5.0
    ) -> Message:
        return await self.slack.wait_for_message(conv, match, timeout)


def platform_of(gateway: RunningGateway) -> SlackPlatform:
    platform = hub_of(gateway).platforms["slack"]
    assert isinstance(platform, SlackPlatform)
    return platform


def hub_of(gateway: RunningGateway) -> Hub:
    assert gateway.gateway.hub is not None
    return gateway.gateway.hub


async def settled(gateway: RunningGateway, timeout: float = 10.0) -> None:
    await hub_settled(hub_of(gateway), timeout)


@pytest.fixture(autouse=True)
def quick_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk notices a dead socket after one ping interval (10 s in production)."""
    monkeypatch.setattr(slack_options, "PING_INTERVAL_SECONDS", 0.3)


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(ack_timeout=1.0, retry_delays=(0.2, 0.4, 0.8)) as emulator:
        yield emulator


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM(instant=True) as fake:
        yield fake


@pytest.fixture
def bot(slack: SlackEmulator, llm: FakeLLM, tmp_path: Path) -> SlackBot:
    alice = slack.add_user("alice")
    bob = slack.add_user("bob")
    carol = slack.add_user("carol")
    general = slack.add_channel("general", [alice, bob, carol, slack.bot])
    return SlackBot(slack, llm, tmp_path / "home", alice, bob, carol, general)
