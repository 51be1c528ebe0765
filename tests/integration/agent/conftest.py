"""A LocalAgent on a temporary HERMES_HOME and state.db, talking to the scripted fake LLM."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hermes.agent.contract import AgentEvent, Failed, Final, Origin, RunRequest, TextDelta
from hermes.agent.local import LocalAgent
from hermes.agent.providers.retry import RetryPolicy
from hermes.agent.tools import Tool, load_tool_modules
from hermes.config import LoadedConfig, load_config
from hermes.store import Store
from tests.fakes.llm import FakeLLM, RecordedRequest
from tests.fakes.llm.recording import content_text

SECRET = "sk-test-SECRET-0123456789abcdef"
# The families served by the fake over HTTP; Bedrock is tested through its client in test_bedrock.py.
CHAT_PROVIDERS = ["openai", "openrouter", "custom", "anthropic"]
FAST_RETRY = RetryPolicy(max_retries=3, max_seconds=10.0, base_delay=0.01, max_delay=0.05)
KEY = "test:dm:1"


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass
class Rig:
    agent: LocalAgent
    store: Store
    config: LoadedConfig
    llm: FakeLLM

    @property
    def home(self) -> Path:
        return self.config.paths.home

    def request(self, text: str, *, key: str = KEY, **fields: Any) -> RunRequest:
        fields.setdefault("platform", "test")
        fields.setdefault("chat_kind", "dm")
        fields.setdefault("origin", Origin("test", "chat-1", "dm"))
        return RunRequest(session_key=key, text=text, **fields)

    async def run(self, text: str, *, cancel: asyncio.Event | None = None, **fields: Any) -> list[AgentEvent]:
        events = []
        async with asyncio.timeout(20):
            async for event in self.agent.run(self.request(text, **fields), cancel or asyncio.Event()):
                events.append(event)
        assert sum(isinstance(e, Final | Failed) for e in events) == 1, events
        assert isinstance(events[-1], Final | Failed), events
        return events

    async def session_messages(self, key: str = KEY) -> list[Any]:
        session = await self.store.sessions.current(key)
        assert session is not None
        return await self.store.sessions.messages(session.id)


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make_rig(tmp_path: Path, llm: FakeLLM) -> AsyncIterator[MakeRig]:
    rigs: list[Rig] = []

    async def make(
        provider: str = "openai",
        *,
        config: Mapping[str, Any] | None = None,
        tools: Mapping[str, Tool] | None = None,
        retry: RetryPolicy = FAST_RETRY,
        with_store: bool = True,
        database: str | None = None,
    ) -> Rig:
        home = tmp_path / f"home{len(rigs)}"
        home.mkdir()
        base_url = {"anthropic": llm.anthropic_base_url, "custom": llm.url}.get(provider, llm.base_url)
        data = deep_merge(
            {"model": {"provider": provider, "default": "fake-model", "base_url": base_url}}, config or {}
        )
        (home / "config.yaml").write_text(yaml.safe_dump(data))
        environ = {"HERMES_HOME": str(home)}
        if provider != "custom":
            environ.update(OPENAI_API_KEY=SECRET, OPENROUTER_API_KEY=SECRET, ANTHROPIC_API_KEY=SECRET)
        loaded = load_config(environ=environ)
        store = await Store.open(database or loaded.paths.state_db)
        offered = {**load_tool_modules(), **(tools or {})}
        agent = LocalAgent(loaded, store if with_store else None, tools=offered, retry=retry)
        rig = Rig(agent, store, loaded, llm)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        await rig.agent.close()
        await rig.store.close()


def texts(events: list[AgentEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def tool_results(request: RecordedRequest) -> list[str]:
    """The tool results a request carried, in either API's shape."""
    if request.api == "anthropic":
        return [
            content_text(block.get("content"))
            for message in request.messages
            if isinstance(message.get("content"), list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        ]
    return [message.get("content") or "" for message in request.messages if message.get("role") == "tool"]


def all_text(request: RecordedRequest) -> str:
    return "\n".join(content_text(m.get("content")) for m in request.messages)
