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
from hermes.store import Session
from hermes.testing import TestPlatform
from tests.fakes.llm import Call, Error, FakeLLM, Stall, Text, ToolCalls
from tests.harness.gateway import RunningGateway, gateway_in_process, hub_settled, llm_config, write_home

from .conftest import KEY, ClientWatch

PROXY_LOG = "hermes.gateway.proxy"


@asynccontextmanager
async def remote_gateway(
    tmp_path: Path, llm: FakeLLM, **api_server: object
) -> AsyncIterator[tuple[RunningGateway, str]]:
    home = write_home(
        tmp_path / "remote",
        config={
            "model": llm_config(llm.base_url, max_retries=0),
            "api_server": {"enabled": True, "port": 0, **api_server},
        },
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


async def remote_session(remote: RunningGateway, local: RunningGateway, key: str) -> Session | None:
    """The remote's session holding the conversation of the local session `key`."""
    assert local.gateway.hub is not None and remote.gateway.hub is not None
    current = await local.gateway.hub.store.sessions.current(key)
    assert current is not None
    return await remote.gateway.hub.store.sessions.current(f"api_server:session:{key}#{current.id}")


def user_texts(llm: FakeLLM, index: int = -1) -> list[str]:
    return [m["content"] for m in llm.chat_requests[index].messages if m["role"] == "user"]


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
        # The remote keeps the conversation under the local session key and the local session's id.
        last = llm.chat_requests[-1]
        users = [m["content"] for m in last.messages if m["role"] == "user"]
        assert users == ["Hi, I am Bo.", "What is my name?"]
        stored = await remote_session(remote, local, "test:dm:dm-@alice")
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


async def reply_to(platform: TestPlatform, local: RunningGateway, text: str) -> str:
    count = len(platform.messages)
    await platform.push(text)
    await platform.wait_for(lambda: len(platform.messages) > count)
    await settled(local)
    return platform.messages[-1].text


async def test_new_starts_a_new_conversation_on_the_remote(tmp_path: Path, llm: FakeLLM) -> None:
    async with (
        remote_gateway(tmp_path, llm) as (remote, url),
        proxy_gateway(tmp_path, url, KEY) as (local, platform),
    ):
        await reply_to(platform, local, "I am Bo.")
        before = await remote_session(remote, local, "test:dm:dm-@alice")
        assert await reply_to(platform, local, "/new") == "✨ Started a fresh conversation."
        await reply_to(platform, local, "Who am I?")
        after = await remote_session(remote, local, "test:dm:dm-@alice")
    assert before is not None and after is not None and before.id != after.id
    assert user_texts(llm, 0) == ["I am Bo."]
    # The remote agent saw none of the conversation before /new.
    assert user_texts(llm, -1) == ["Who am I?"]
    assert len(llm.chat_requests) == 2


@pytest.mark.parametrize("name", ["undo", "retry"])
async def test_undo_and_retry_say_plainly_they_are_not_available(
    tmp_path: Path, llm: FakeLLM, name: str
) -> None:
    async with (
        remote_gateway(tmp_path, llm) as (remote, url),
        proxy_gateway(tmp_path, url, KEY) as (local, platform),
    ):
        await reply_to(platform, local, "remember this")
        answer = await reply_to(platform, local, f"/{name}")
        stored = await remote_session(remote, local, "test:dm:dm-@alice")
    assert answer.startswith(f"/{name} is not available here") and "remote agent" in answer
    # Nothing changed over there, and nothing was sent again.
    assert stored is not None and stored.message_count == 2
    assert len(llm.chat_requests) == 1


async def test_model_lists_and_chooses_among_the_remote_agents_models(tmp_path: Path, llm: FakeLLM) -> None:
    async with (
        remote_gateway(tmp_path, llm, model_aliases=["fast"]) as (_, url),
        proxy_gateway(tmp_path, url, KEY) as (local, platform),
    ):
        shown = await reply_to(platform, local, "/model")
        refused = await reply_to(platform, local, "/model gpt-9")
        chosen = await reply_to(platform, local, "/model fast")
        await reply_to(platform, local, "quick question")
        assert local.gateway.hub is not None
        session = await local.gateway.hub.store.sessions.current("test:dm:dm-@alice")
        assert session is not None and session.model_override == "fast"
        reset = await reply_to(platform, local, "/model default")
        await reply_to(platform, local, "another one")
    assert shown == "Model (remote agent): hermes-agent. Available: hermes-agent, fast."
    assert refused == "The remote agent does not offer `gpt-9`. Available: hermes-agent, fast."
    assert chosen == "Model for this conversation (remote agent): fast"
    assert reset == "Model for this conversation (remote agent): hermes-agent"
    assert len(llm.chat_requests) == 2


async def test_model_with_the_remote_down_says_so(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with proxy_gateway(tmp_path, f"http://127.0.0.1:{port}", KEY) as (local, platform):
        answer = await reply_to(platform, local, "/model fast")
    assert answer == "The remote agent is unreachable right now, so its models cannot be listed or chosen."


async def test_status_and_usage_count_what_the_remote_agent_keeps(tmp_path: Path, llm: FakeLLM) -> None:
    async with (
        remote_gateway(tmp_path, llm) as (remote, url),
        proxy_gateway(tmp_path, url, KEY) as (local, platform),
    ):
        before = await reply_to(platform, local, "/usage")
        await reply_to(platform, local, "remember this")
        usage = await reply_to(platform, local, "/usage")
        status = await reply_to(platform, local, "/status")
        stored = await remote_session(remote, local, "test:dm:dm-@alice")
    assert before == "No usage yet in this conversation."
    assert stored is not None and stored.message_count == 2 and stored.prompt_tokens > 0
    total = stored.prompt_tokens + stored.completion_tokens
    assert usage == (
        f"This conversation: {stored.prompt_tokens} prompt + {stored.completion_tokens} completion "
        f"= {total} tokens over 2 messages."
    )
    assert "Model: the remote agent's default" in status
    assert f"Messages: 2, tokens: {stored.prompt_tokens} in / {stored.completion_tokens} out" in status


async def test_usage_with_the_remote_down_says_so(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with proxy_gateway(tmp_path, f"http://127.0.0.1:{port}/v1", KEY) as (local, platform):
        await reply_to(platform, local, "hello")
        usage = await reply_to(platform, local, "/usage")
        status = await reply_to(platform, local, "/status")
    assert usage == "The remote agent is unreachable right now, so this conversation's usage cannot be shown."
    assert "Messages: unknown (the remote agent is unreachable right now)" in status
