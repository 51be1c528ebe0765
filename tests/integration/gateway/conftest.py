"""A hub wired to the real local agent, the fake LLM and the in-memory test platform, on each engine."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hermes.agent.local import LocalAgent
from hermes.config import load_config
from hermes.gateway.hub import Hub, HubOptions
from hermes.platforms.base import AccessList
from hermes.store import Store
from hermes.testing import TestPlatform
from tests.fakes.llm import FakeLLM
from tests.harness.gateway import hub_settled, llm_config, write_home


@dataclass
class Rig:
    hub: Hub
    platform: TestPlatform
    llm: FakeLLM
    store: Store
    home: Path

    async def reply_texts(self, count: int, chat: str | None = None, timeout: float = 10.0) -> list[str]:
        """The texts of the bot's messages once `count` exist and every run has finished."""
        await self.platform.wait_for_messages(count, chat=chat, timeout=timeout)
        await self.settled(timeout)
        return [m.text for m in (self.platform.in_chat(chat) if chat else self.platform.messages)]

    async def settled(self, timeout: float = 10.0) -> None:
        """Wait until the inbox holds nothing unanswered and no run is in flight."""
        await hub_settled(self.hub, timeout)


@pytest.fixture
async def make_rig(
    tmp_path: Path, llm: FakeLLM, new_store_env: Callable[[], dict[str, str]]
) -> AsyncIterator[Any]:
    created: list[Rig] = []

    async def make(
        *,
        platform: TestPlatform | None = None,
        config: dict[str, Any] | None = None,
        gateway_access: AccessList | None = None,
        **options: Any,
    ) -> Rig:
        home = write_home(
            tmp_path / f"home{len(created)}",
            config={"model": llm_config(llm.base_url), **(config or {})},
            env=new_store_env(),
        )
        loaded = load_config({"HERMES_HOME": str(home)})
        store = await Store.configured(loaded.settings.store, loaded.paths.state_db)
        agent = LocalAgent(loaded, store)
        platform = platform or TestPlatform()
        hub_options = dataclasses.replace(HubOptions.from_settings(loaded.settings), **options)
        hub = Hub(store, agent, {platform.name: platform}, hub_options, gateway_access or AccessList())
        await platform.start(hub)
        rig = Rig(hub, platform, llm, store, home)
        created.append(rig)
        return rig

    yield make
    for rig in created:
        await rig.hub.drain(0.5)
        await rig.hub.agent.close()
        await rig.store.close()
