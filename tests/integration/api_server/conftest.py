"""An API server wired to the real hub, the real local agent and the fake LLM, in this event loop.

Every test runs on each engine (state.db, then a fresh PostgreSQL database per home). The platform is
built the way the gateway builds it (`ApiServerPlatform.create`), with a few options a test may shrink
(the keep-alive interval); whole-gateway behaviour (start-up refusals, key generation, proxy mode) is
tested through `tests.harness.gateway`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
from aiohttp import web

from hermes.agent.local import LocalAgent
from hermes.config import load_config
from hermes.gateway.hub import Hub, HubOptions
from hermes.platforms.api_server import ApiServerPlatform
from hermes.platforms.api_server.platform import ServerOptions
from hermes.platforms.base import AccessList
from hermes.store import Store
from tests.fakes.llm import FakeLLM
from tests.harness.gateway import llm_config, write_home

KEY = "test-api-key-5f2d8c1e9a7b4036"


@dataclass
class Server:
    platform: ApiServerPlatform
    hub: Hub
    llm: FakeLLM
    store: Store
    home: Path

    @property
    def url(self) -> str:
        return self.platform.url

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def client(self, **options: Any) -> openai.AsyncOpenAI:
        options.setdefault("max_retries", 0)
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=options.pop("api_key", KEY), **options)

    def sync_client(self, **options: Any) -> openai.OpenAI:
        """Call it from a thread (`asyncio.to_thread`): the server runs in this test's event loop."""
        return openai.OpenAI(
            base_url=self.base_url, api_key=options.pop("api_key", KEY), max_retries=0, **options
        )

    def runs_in_flight(self) -> int:
        assert self.platform.admission is not None
        return self.platform.admission.in_flight

    async def idle(self, timeout: float = 5.0) -> None:
        """Wait until no run is in flight, in the platform and in the hub."""
        async with asyncio.timeout(timeout):
            while self.runs_in_flight() or self.hub.runs_in_flight:
                await asyncio.sleep(0.01)


class ClientWatch:
    """Records, on the fake LLM's side, the requests whose client (the gateway) went away mid-answer."""

    def __init__(self) -> None:
        self.gone = 0
        self.changed = asyncio.Event()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except asyncio.CancelledError:
            self.gone += 1
            self.changed.set()
            raise

    async def wait_gone(self, count: int = 1, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while self.gone < count:
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
def client_watch() -> ClientWatch:
    return ClientWatch()


@pytest.fixture
async def llm(client_watch: ClientWatch) -> AsyncIterator[FakeLLM]:
    fake = FakeLLM()
    fake.app.middlewares.append(client_watch.middleware)
    async with fake:
        yield fake


@pytest.fixture
async def start_server(
    tmp_path: Path, llm: FakeLLM, new_store_env: Callable[[], dict[str, str]]
) -> AsyncIterator[Any]:
    started: list[Server] = []

    async def start(
        *,
        api_server: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        key: str | None = KEY,
        home: Path | None = None,
        **options: Any,
    ) -> Server:
        """A server on a new home, or on `home` as another server left it (a restart)."""
        if home is None:
            home = write_home(
                tmp_path / f"home{len(started)}",
                config={
                    "model": llm_config(llm.base_url, max_retries=0),
                    "api_server": {"enabled": True, "port": 0, **(api_server or {})},
                    **(config or {}),
                },
                env={**new_store_env(), **({"API_SERVER_KEY": key} if key is not None else {})},
            )
        loaded = load_config({"HERMES_HOME": str(home)})
        platform = ApiServerPlatform.create(loaded)
        platform.options = dataclasses.replace(ServerOptions.from_config(loaded), **options)
        store = await Store.configured(loaded.settings.store, loaded.paths.state_db)
        hub = Hub(
            store,
            LocalAgent(loaded, store),
            {platform.name: platform},
            HubOptions.from_settings(loaded.settings),
            AccessList(),
        )
        server = Server(platform, hub, llm, store, home)
        started.append(server)
        await platform.start(hub)
        return server

    yield start
    for server in started:
        await server.platform.stop()
        await server.hub.agent.close()
        await server.store.close()


@pytest.fixture
async def server(start_server: Any) -> Server:
    return await start_server()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def auth(key: str = KEY, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) of every event in an SSE body; comments are left out."""
    events = []
    for block in text.split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].strip())
        if data:
            events.append((name, "\n".join(data)))
    return events
