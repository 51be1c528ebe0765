"""`hermes gateway setup --non-interactive` for Slack: both tokens checked live, scopes named."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hermes.config import load_config
from tests.fakes.llm import FakeLLM
from tests.fakes.slack import SlackEmulator
from tests.harness.gateway import HERMES, gateway_in_process

LLM_KEY = "sk-fake-llm-key-0123456789"


async def setup(home: Path, slack: SlackEmulator, *flags: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "API_SERVER_", "HERMES_"))}
    proc = await asyncio.create_subprocess_exec(
        HERMES,
        "gateway",
        "setup",
        "--non-interactive",
        *flags,
        env={**env, "HERMES_HOME": str(home), "COLUMNS": "200", "SLACK_API_URL": slack.api_url},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM(instant=True, api_key=LLM_KEY) as fake:
        yield fake


def flags(llm: FakeLLM, slack: SlackEmulator, **overrides: str) -> list[str]:
    values = {
        "--slack-bot-token": slack.bot_token,
        "--slack-app-token": slack.app_token,
        **overrides,
    }
    model = [
        "--provider",
        "custom",
        "--base-url",
        llm.base_url,
        "--api-key",
        LLM_KEY,
        "--model",
        "fake-model",
    ]
    return [*model, "--platform", "slack", *(part for pair in values.items() for part in pair)]


async def test_flags_set_up_slack_and_the_gateway_answers(
    tmp_path: Path, llm: FakeLLM, slack: SlackEmulator
) -> None:
    alice = slack.add_user("alice")
    home = tmp_path / "home"
    code, out = await setup(home, slack, *flags(llm, slack, **{"--slack-allowed-users": alice.id}))
    assert code == 0, out
    assert slack.bot_token not in out and slack.app_token not in out
    loaded = load_config({"HERMES_HOME": str(home)})
    assert loaded.value("slack.bot_token") == slack.bot_token
    assert loaded.value("slack.allowed_users") == [alice.id]
    async with gateway_in_process(home, {"SLACK_API_URL": slack.api_url}) as gateway:
        await gateway.connected("slack")
        dm = slack.dm(alice)
        await asyncio.sleep(0.2)  # the first catch-up sets the cursor
        await slack.post(alice, dm, "hello from a script")
        reply = await slack.wait_for_message(dm, timeout=10)
    assert reply.text == "hello from a script"


async def test_a_refused_app_token_is_named_and_nothing_written(
    tmp_path: Path, llm: FakeLLM, slack: SlackEmulator
) -> None:
    home = tmp_path / "home"
    code, out = await setup(home, slack, *flags(llm, slack, **{"--slack-app-token": "xapp-1-wrong"}))
    assert code == 1, out
    assert "Socket Mode refuses the app token (invalid_auth)" in out
    assert "Nothing was written." in out


async def test_missing_scopes_are_named(tmp_path: Path, llm: FakeLLM, slack: SlackEmulator) -> None:
    slack.set_scopes({"chat:write", "im:history", "app_mentions:read"})
    code, out = await setup(tmp_path / "home", slack, *flags(llm, slack))
    assert code == 1, out
    assert "the bot lacks scopes" in out and "reactions:write" in out


async def test_a_user_token_is_refused_before_any_check(
    tmp_path: Path, llm: FakeLLM, slack: SlackEmulator
) -> None:
    code, out = await setup(tmp_path / "home", slack, *flags(llm, slack, **{"--slack-bot-token": "xoxp-1"}))
    assert code != 0 and "xoxb-" in out
