"""Tools seen through real runs: the real LocalAgent and loop, the scripted fake LLM, and for tools that reach
people, a hub with the in-memory test platform."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# CPython 3.11.7 keeps one recursion counter for every thread's ast.parse, and pydantic parses class sources
# with it when the MCP SDK's models are first built. Imported here, while collection runs on one thread,
# that first build cannot race another thread's parse (a SystemError "AST constructor recursion depth
# mismatch" seen once in a full run); the gateway imports the SDK only when MCP servers are configured.
import mcp.client.stdio
import mcp.client.streamable_http  # noqa: F401
import pytest

from hermes.agent.contract import AgentEvent, Failed, Final, GatewayServices, Origin, RunRequest
from hermes.agent.local import LocalAgent
from hermes.config import LoadedConfig, load_config
from hermes.gateway.hub import Hub, HubOptions
from hermes.platforms.base import AccessList
from hermes.store import Store
from hermes.testing import TestPlatform
from tests.fakes.llm import FakeLLM
from tests.harness.gateway import hub_settled, llm_config, write_home

KEY = "test:dm:@alice"
ORIGIN = Origin("test", "chat-1", "dm", None, "@alice")


@dataclass
class AgentRig:
    agent: LocalAgent
    store: Store
    config: LoadedConfig
    llm: FakeLLM

    @property
    def workspace(self) -> Path:
        return self.config.paths.workspace

    async def run(
        self, text: str, *, services: GatewayServices | None = None, **fields: Any
    ) -> list[AgentEvent]:
        fields.setdefault("platform", "test")
        fields.setdefault("chat_kind", "dm")
        fields.setdefault("origin", ORIGIN)
        request = RunRequest(session_key=fields.pop("key", KEY), text=text, **fields)
        events = []
        async with asyncio.timeout(30):
            async for event in self.agent.run(request, asyncio.Event(), services):
                events.append(event)
        assert isinstance(events[-1], Final | Failed), events
        return events


@dataclass
class HubRig:
    hub: Hub
    platform: TestPlatform
    store: Store
    config: LoadedConfig

    async def settled(self, timeout: float = 10.0) -> None:
        await hub_settled(self.hub, timeout)


@pytest.fixture
async def make_agent(tmp_path: Path, llm: FakeLLM) -> AsyncIterator[Callable[..., Awaitable[AgentRig]]]:
    made: list[AgentRig] = []

    async def make(config: dict[str, Any] | None = None) -> AgentRig:
        home = write_home(
            tmp_path / f"home{len(made)}", config={"model": llm_config(llm.base_url), **(config or {})}
        )
        loaded = load_config({"HERMES_HOME": str(home)})
        store = await Store.open(loaded.paths.state_db)
        rig = AgentRig(LocalAgent(loaded, store), store, loaded, llm)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.agent.close()
        await rig.store.close()


@pytest.fixture
async def make_hub(tmp_path: Path, llm: FakeLLM) -> AsyncIterator[Callable[..., Awaitable[HubRig]]]:
    made: list[HubRig] = []

    async def make(config: dict[str, Any] | None = None, platform: TestPlatform | None = None) -> HubRig:
        home = write_home(
            tmp_path / f"hub{len(made)}", config={"model": llm_config(llm.base_url), **(config or {})}
        )
        loaded = load_config({"HERMES_HOME": str(home)})
        store = await Store.open(loaded.paths.state_db)
        platform = platform or TestPlatform()
        options = dataclasses.replace(HubOptions.from_settings(loaded.settings))
        hub = Hub(store, LocalAgent(loaded, store), {platform.name: platform}, options, AccessList())
        await platform.start(hub)
        rig = HubRig(hub, platform, store, loaded)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.hub.drain(0.5)
        await rig.hub.agent.close()
        await rig.store.close()
