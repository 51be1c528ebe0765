"""A hub (real LocalAgent, fake LLM, in-memory test platform) with a scheduler on top of it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hermes.agent.local import LocalAgent
from hermes.config import LoadedConfig, load_config
from hermes.gateway.hub import Hub, HubOptions
from hermes.gateway.scheduler import Scheduler
from hermes.platforms.base import AccessList
from hermes.store import Job, Store
from hermes.store.jobs import JobTarget
from hermes.testing import TestPlatform
from tests.fakes.llm import FakeLLM
from tests.harness.gateway import llm_config, write_home


@dataclass
class Rig:
    hub: Hub
    scheduler: Scheduler
    platform: TestPlatform
    store: Store
    config: LoadedConfig
    llm: FakeLLM

    async def add_job(
        self,
        prompt: str = "Say hello.",
        *,
        target: JobTarget | None = None,
        due_in: float = -1.0,
        kind: str = "interval",
        value: str = "3600",
        name: str = "greeting",
        grace: int = 300,
    ) -> Job:
        return await self.store.jobs.create(
            name=name,
            schedule_kind=kind,  # type: ignore[arg-type]
            schedule_value=value,
            prompt=prompt,
            target=target or {"platform": "test", "chat_id": "room-1", "kind": "group", "thread_id": None},
            next_run_at=time.time() + due_in,
            grace_seconds=grace,
        )

    async def run_due(self) -> list[Any]:
        """One scheduler tick, waiting for the jobs it started."""
        tasks = await self.scheduler.tick()
        async with asyncio.timeout(20):
            return list(await asyncio.gather(*tasks))


@pytest.fixture
async def make_rig(tmp_path: Path, llm: FakeLLM) -> AsyncIterator[Callable[..., Awaitable[Rig]]]:
    made: list[Rig] = []

    async def make(
        *, platform: TestPlatform | None = None, config: dict[str, Any] | None = None, **scheduler: Any
    ) -> Rig:
        model = llm_config(llm.base_url, max_retries=0)
        home = write_home(tmp_path / f"home{len(made)}", config={"model": model, **(config or {})})
        loaded = load_config({"HERMES_HOME": str(home)})
        store = await Store.open(loaded.paths.state_db)
        platform = platform or TestPlatform()
        hub = Hub(
            store,
            LocalAgent(loaded, store),
            {"test": platform},
            HubOptions.from_settings(loaded.settings),
            AccessList(),
        )
        await platform.start(hub)
        rig = Rig(hub, Scheduler(hub, **scheduler), platform, store, loaded, llm)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.scheduler.stop(0.5)
        await rig.hub.drain(0.5)
        await rig.hub.agent.close()
        await rig.store.close()
