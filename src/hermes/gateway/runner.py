"""`hermes gateway run`: open the store, build the agent, start every enabled platform, and shut down
gracefully on SIGINT/SIGTERM (stop taking work, let runs finish within the grace period, close the store).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from hermes.agent.contract import AgentPort
from hermes.agent.tools.mcp import McpServers
from hermes.backoff import Backoff
from hermes.config import LoadedConfig
from hermes.extensions import import_plugins
from hermes.gateway.control import ControlServer, control_socket_path
from hermes.gateway.hub import Hub, HubOptions
from hermes.gateway.media_cache import MediaCachePruner
from hermes.gateway.scheduler import LOCK_FILE, Scheduler
from hermes.gateway.status_report import status_handlers
from hermes.gateway.supervisor import PlatformSupervisor
from hermes.platforms.base import AccessList, Platform, registered
from hermes.store import ForeignDatabaseError, Store

log = logging.getLogger(__name__)

# How long start-up waits for MCP servers before the platforms come up without the slow ones: long enough
# for an `npx` server's usual first start, short enough that a hanging one does not keep chats unanswered.
MCP_START_WAIT_SECONDS = 10.0


def enabled_platforms(config: LoadedConfig) -> dict[str, Platform]:
    # The loader imported `gateway.plugins` already; this keeps a config built by hand (tests) the same.
    import_plugins(config.settings.gateway.plugins)
    return {name: cls.create(config) for name, cls in registered().items() if cls.enabled(config)}


async def open_store(path: Path) -> Store:
    """Open state.db. A database some other program wrote under that name (the original hermes-agent
    keeps a state.db of its own shape there) is renamed aside, kept whole, so an existing installation
    starts; a corrupt or newer database still stops start-up."""
    try:
        return await Store.open(path)
    except ForeignDatabaseError:
        aside = path.with_name(f"{path.name}.foreign-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            source = path.with_name(path.name + suffix)
            if source.exists():
                source.rename(aside.with_name(aside.name + suffix))
        log.warning("%s was written by another program; moved it to %s and started a new one", path, aside)
        return await Store.open(path)


def build_agent(config: LoadedConfig, store: Store) -> AgentPort:
    if config.settings.gateway.proxy_url:
        from hermes.gateway.proxy import ProxyAgent

        return ProxyAgent(config.settings)
    from hermes.agent.local import LocalAgent
    from hermes.agent.providers import create_provider
    from hermes.agent.providers.base import ProviderConfigError, UnconfiguredProvider

    try:
        provider = create_provider(config.settings)
    except ProviderConfigError as exc:
        # The platforms still start: people get this explanation in reply, the operator this log line.
        log.error("the model is not set up: %s (every message is answered with this until it is)", exc)
        return LocalAgent(config, store, provider=UnconfiguredProvider(str(exc)))
    return LocalAgent(config, store, provider=provider)


@dataclass
class Gateway:
    config: LoadedConfig
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once every enabled platform has a supervisor (connected or still trying).
    started: asyncio.Event = field(default_factory=asyncio.Event)
    hub: Hub | None = None
    supervisors: dict[str, PlatformSupervisor] = field(default_factory=dict)
    scheduler: Scheduler | None = None

    async def run(self) -> None:
        store = await open_store(self.config.paths.state_db)
        # Before the agent is built: it reads the tool registry, where MCP servers put their tools.
        mcp = McpServers(
            {} if self.config.settings.gateway.proxy_url else self.config.settings.mcp_servers,
            log_dir=self.config.paths.logs,
        )
        try:
            await mcp.start(wait=MCP_START_WAIT_SECONDS)
            agent = build_agent(self.config, store)
            try:
                await self._serve(store, agent)
            finally:
                await agent.close()
        finally:
            await mcp.close()
            await store.close()
        log.info("gateway stopped")

    async def _serve(self, store: Store, agent: AgentPort) -> None:
        settings = self.config.settings
        gateway = settings.gateway
        platforms = enabled_platforms(self.config)
        if not platforms:
            log.warning("no platform is enabled: run `hermes gateway setup` (see `hermes config reference`)")
        access = AccessList(frozenset(gateway.allowed_users), gateway.allow_all_users)
        self.hub = hub = Hub(store, agent, platforms, HubOptions.from_settings(settings), access)
        for name, platform in platforms.items():
            backoff = Backoff(gateway.reconnect_min_seconds, gateway.reconnect_max_seconds)
            supervisor = PlatformSupervisor(platform, hub, backoff, on_connected=hub.resume_pending)
            self.supervisors[name] = supervisor
            supervisor.start()
        connected = {name: supervisor.connected for name, supervisor in self.supervisors.items()}
        self.scheduler = Scheduler(hub, lock_path=self.config.paths.home / LOCK_FILE, connected=connected)
        self.scheduler.start()
        pruner = MediaCachePruner(self.config.paths.media_cache, gateway.media_cache_days)
        pruner.start()
        control = ControlServer(control_socket_path(self.config.paths), status_handlers(self))
        await control.start()
        self.started.set()
        log.info("gateway running with %s", ", ".join(platforms) or "no platforms")
        try:
            await self.stop_requested.wait()
            grace = gateway.shutdown_grace_seconds
            log.info("shutting down: finishing runs in flight (up to %.0f s)", grace)
            # One grace period for both: jobs and chat runs finish side by side.
            await asyncio.gather(self.scheduler.stop(grace), hub.drain(grace))
            await asyncio.gather(*(s.stop() for s in self.supervisors.values()))
        finally:
            await pruner.stop()
            await control.stop()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop_requested.set)
