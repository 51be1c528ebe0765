"""Proxy mode end to end: a gateway with the test platform and no agent of its own forwards each turn to a
second gateway's API server, whose agent answers."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from hermes.gateway import proxy
from hermes.platforms.api_server import ApiServerPlatform
from hermes.testing import TestPlatform
from tests.fakes.llm import Call, Error, FakeLLM, Stall, Text, ToolCalls
from tests.harness.gateway import RunningGateway, gateway_in_process, hub_settled, llm_config, write_home

from .conftest import KEY, ClientWatch

PROXY_LOG = "hermes.gateway.proxy"


@asynccontextmanager
async def remote_gateway(tmp_path: Path, llm: FakeLLM) -> AsyncIterator[tuple[RunningGateway, str]]:
    home = write_home(
        tmp_path / "remote",
        config={"model": llm_config(llm.base_url, max_retries=0), "api_server": {"enabled": True, "port": 0}},
        env={"API_SERVER_KEY": KEY},
    )
    async with gateway_in_process(home) as running:
        await running.connected("api_server")
        platform = running.gateway.supervisors["api_server"].platform
        assert isinstance(platform, ApiServerPlatform)
        yield running, platform.url


@asynccontextmanager
async def proxy_gateway(
    tmp_path: Path, url: str, key: str, **gateway: object
) -> AsyncIterator[tuple[RunningGateway, TestPlatform]]:
    home = write_home(
        tmp_path / "local",
        config={
            # No provider this gateway could use: every answer must come from the remote.
            "model": {"provider": "custom", "base_url": "http://127.0.0.1:9", "default": "unused"},
            "display": {"tool_progress": "brief"},
            "gateway": {
                "plugins": ["hermes.testing"],
                "allow_all_users": True,
                "proxy_url": url,
                **gateway,
            },
        },
        env={"GATEWAY_PROXY_KEY": key},
    )
    async with gateway_in_process(home) as running:
        await running.connected("test")
        platform = running.gateway.supervisors["test"].platform
        assert isinstance(platform, TestPlatform)
        yield running, platform


async def settled(running: RunningGateway, timeout: float = 5.0) -> None:
    """No event left unanswered and no run in flight."""
    assert running.gateway.hub is not None
    await hub_settled(running.gateway.hub, timeout)


async def test_messages_are_answered_by_the_remote_agent(tmp_path: Path, llm: FakeLLM) -> None:
    llm.script(Text("Hello from the remote agent."), Text("You said your name is Bo."))
    async with (
        remote_gateway(tmp_path, llm) as (remote, url),
        proxy_gateway(tmp_path, url, KEY) as (local, platform),
    ):
        await platform.push("Hi, I am Bo.")
        await platform.wait_for(
            lambda: [m.text for m in platform.messages] == ["Hello from the remote agent."]
        )
        await settled(local)
        await platform.push("What is my name?")
        await platform.wait_for(
            lambda: len(platform.messages) == 2 and platform.messages[1].text.endswith("Bo.")
        )
        # The remote keeps the conversation under the local session key.
        last = llm.chat_requests[-1]
        users = [m["content"] for m in last.messages if m["role"] == "user"]
        assert users == ["Hi, I am Bo.", "What is my name?"]
        assert remote.gateway.hub is not None
        stored = await remote.gateway.hub.store.sessions.current("api_server:session:test:dm:dm-@alice")
        assert stored is not None and stored.message_count == 4


async def test_remote_tool_progress_reaches_the_platform(tmp_path: Path, llm: FakeLLM) -> None:
    llm.script(ToolCalls([Call("todo", {"todos": []})]), Text("Planned."))
    async with (
        remote_gateway(tmp_path, llm) as (_, url),
        proxy_gateway(tmp_path, url, KEY) as (_, platform),
    ):
        await platform.push("plan something")
        await platform.wait_for(lambda: any(m.text == "Planned." for m in platform.messages))
        assert any("🔧 todo" in m.text for m in platform.messages)


async def test_remote_down_gives_one_short_error_and_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger=PROXY_LOG):
        async with proxy_gateway(tmp_path, f"http://127.0.0.1:{port}", KEY) as (local, platform):
            await platform.push("anyone there?")
            await platform.wait_for(lambda: len(platform.messages) == 1)
            await settled(local)
    assert [m.text for m in platform.messages] == [f"⚠️ {proxy.UNREACHABLE}"]
    lines = [r for r in caplog.records if r.name == PROXY_LOG]
    assert len(lines) == 1
    assert f"127.0.0.1:{port}" in lines[0].getMessage()


async def test_remote_refusing_the_key_gives_one_short_error_and_one_log_line(
    tmp_path: Path, llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "not-the-remote-key-0123456789"
    async with remote_gateway(tmp_path, llm) as (_, url):
        with caplog.at_level(logging.WARNING, logger=PROXY_LOG):
            async with proxy_gateway(tmp_path, url, wrong) as (local, platform):
                await platform.push("hello?")
                await platform.wait_for(lambda: len(platform.messages) == 1)
                await settled(local)
    assert [m.text for m in platform.messages] == [f"⚠️ {proxy.REFUSED}"]
    lines = [r for r in caplog.records if r.name == PROXY_LOG]
    assert len(lines) == 1
    assert lines[0].levelno == logging.ERROR
    assert "GATEWAY_PROXY_KEY" in lines[0].getMessage()
    assert wrong not in caplog.text and KEY not in caplog.text
    assert llm.chat_requests == []


async def test_stop_on_the_proxy_side_cancels_the_remote_run(
    tmp_path: Path, llm: FakeLLM, client_watch: ClientWatch
) -> None:
    llm.script(Stall(seconds=60, after=2, reply=Text("a very slow answer indeed")))
    async with (
        remote_gateway(tmp_path, llm) as (remote, url),
        proxy_gateway(tmp_path, url, KEY) as (local, platform),
    ):
        await platform.push("take your time")
        await llm.wait_for_requests(1)
        await platform.push("/stop")
        await client_watch.wait_gone()
        await settled(local)
        await settled(remote)


async def test_remote_provider_failure_is_shown_as_the_remote_agent_words_it(
    tmp_path: Path, llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    llm.script(Error(503, "the model is overloaded"))
    async with remote_gateway(tmp_path, llm) as (_, url):
        with caplog.at_level(logging.WARNING, logger=PROXY_LOG):
            async with proxy_gateway(tmp_path, url, KEY) as (local, platform):
                await platform.push("are you there?")
                await platform.wait_for(lambda: len(platform.messages) == 1)
                await settled(local)
    [message] = platform.messages
    assert message.text.startswith("⚠️ ") and "HTTP 503" in message.text
    assert "the model is overloaded" in message.text
    assert len([r for r in caplog.records if r.name == PROXY_LOG]) == 1
