"""`hermes gateway run`: open the store, build the agent, start every enabled platform, and shut down
gracefully on SIGINT/SIGTERM (stop taking work, let runs finish within the grace period, close the store).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hermes.agent.contract import AgentPort
from hermes.agent.tools.mcp import McpServers
from hermes.backoff import Backoff
from hermes.config import ConfigError, LoadedConfig, load_config
from hermes.extensions import import_plugins
from hermes.gateway.control import ControlServer, control_socket_path
from hermes.gateway.dashboard_chat import DashboardChat
from hermes.gateway.hub import Hub, HubOptions
from hermes.gateway.inbox_pruning import InboxPruner
from hermes.gateway.media_cache import MediaCachePruner
from hermes.gateway.pid_lock import PidLock
from hermes.gateway.reload import ReloadResult, changed_keys, platform_section, sort_changes
from hermes.gateway.replicas import Replication
from hermes.gateway.scheduler import LOCK_FILE, Scheduler
from hermes.gateway.status_report import status_handlers
from hermes.gateway.supervisor import PlatformSupervisor
from hermes.platforms.base import AccessList, Platform, registered
from hermes.store import ForeignDatabaseError, Store

log = logging.getLogger(__name__)

HOME_LOCK_FILE = "gateway.lock"


class HomeInUse(Exception):
    """Another gateway holds this HERMES_HOME: two would answer every message twice."""

    def __init__(self, home: Path, pid: int | None) -> None:
        advice = "stop it first, or give this one its own HERMES_HOME"
        if pid is None:
            super().__init__(f"HERMES_HOME {home} is in use by another gateway; {advice}")
        else:
            super().__init__(f"HERMES_HOME {home} is in use by the gateway with PID {pid}; {advice}")


# How long start-up waits for MCP servers before the platforms come up without the slow ones: long enough
# for an `npx` server's usual first start, short enough that a hanging one does not keep chats unanswered.
MCP_START_WAIT_SECONDS = 10.0


def no_platform_fix(env_file: Path) -> str:
    """What to do when no platform is enabled: the wizard, or the one-line switch of a platform that has
    one (`Platform.quick_start`)."""
    switches = " or ".join(cls.quick_start for cls in registered().values() if cls.quick_start)
    if not switches:
        return "run `hermes gateway setup`"
    return f"run `hermes gateway setup`, or set {switches} in {env_file}"


def enabled_platforms(config: LoadedConfig) -> dict[str, Platform]:
    # The loader imported `gateway.plugins` already; this keeps a config built by hand (tests) the same.
    import_plugins(config.settings.gateway.plugins)
    return {name: cls.create(config) for name, cls in registered().items() if cls.enabled(config)}


async def open_store(config: LoadedConfig) -> Store:
    """Open the configured store. A state.db some other program wrote under that name (the original
    hermes-agent keeps a state.db of its own shape there) is renamed aside, kept whole, so an existing
    installation starts; a corrupt or newer database still stops start-up."""
    path = config.paths.state_db
    try:
        return await Store.configured(config.settings.store, path)
    except ForeignDatabaseError:
        aside = path.with_name(f"{path.name}.foreign-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            source = path.with_name(path.name + suffix)
            if source.exists():
                source.rename(aside.with_name(aside.name + suffix))
        log.warning("%s was written by another program; moved it to %s and started a new one", path, aside)
        return await Store.open(path)


async def start_agent(config: LoadedConfig, store: Store) -> AgentPort:
    if config.settings.gateway.proxy_url:
        from hermes.gateway.proxy import ProxyAgent

        return ProxyAgent(config.settings, store.sessions)
    from hermes.agent.local import LocalAgent
    from hermes.agent.providers import create_provider
    from hermes.agent.providers.base import ProviderConfigError, UnconfiguredProvider

    try:
        provider = create_provider(config.settings)
    except ProviderConfigError as exc:
        # The platforms still start: people get this explanation in reply, the operator this log line.
        log.error("the model is not set up: %s (every message is answered with this until it is)", exc)
        agent = LocalAgent(config, store, provider=UnconfiguredProvider(str(exc)))
    else:
        agent = LocalAgent(config, store, provider=provider)
    # Before any platform starts: with PostgreSQL, this home's shared files are brought in step first.
    await agent.start()
    return agent


@dataclass
class Gateway:
    config: LoadedConfig
    # What a reload reads the settings with, as at start: the process environment and HERMES_HOME.
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once every enabled platform has a supervisor (connected or still trying).
    started: asyncio.Event = field(default_factory=asyncio.Event)
    hub: Hub | None = None
    supervisors: dict[str, PlatformSupervisor] = field(default_factory=dict)
    scheduler: Scheduler | None = None
    replication: Replication | None = None
    connected: dict[str, asyncio.Event] = field(default_factory=dict)
    _reloading: asyncio.Lock = field(default_factory=asyncio.Lock)
    _reload_tasks: set[asyncio.Future[ReloadResult]] = field(default_factory=set)

    async def run(self) -> None:
        platforms = enabled_platforms(self.config)
        if not platforms:
            # Idling would look like a working gateway that nobody can reach.
            fix = no_platform_fix(self.config.paths.env_file)
            raise ConfigError([f"no platform is enabled, so there is nothing to serve: {fix}"])
        lock = PidLock(self.config.paths.home / HOME_LOCK_FILE)
        if not await asyncio.to_thread(lock.acquire):
            raise HomeInUse(self.config.paths.home, lock.holder())
        try:
            await self._run_locked(platforms)
        finally:
            await asyncio.to_thread(lock.release)

    async def _run_locked(self, platforms: dict[str, Platform]) -> None:
        store = await open_store(self.config)
        # Before the agent is built: it reads the tool registry, where MCP servers put their tools.
        mcp = McpServers(
            {} if self.config.settings.gateway.proxy_url else self.config.settings.mcp_servers,
            log_dir=self.config.paths.logs,
        )
        try:
            await mcp.start(wait=MCP_START_WAIT_SECONDS)
            agent = await start_agent(self.config, store)
            try:
                await self._serve(store, agent, platforms)
            finally:
                await agent.close()
        finally:
            await mcp.close()
            await store.close()
        log.info("gateway stopped")

    async def _serve(self, store: Store, agent: AgentPort, platforms: dict[str, Platform]) -> None:
        settings = self.config.settings
        gateway = settings.gateway
        access = AccessList(frozenset(gateway.allowed_users), gateway.allow_all_users)
        self.hub = hub = Hub(store, agent, platforms, HubOptions.from_settings(settings), access)
        self.replication = replication = Replication.for_store(store, settings.store)
        if replication is not None:
            await replication.start()
            hub.requests.shared_lock = replication.session_lock
        for name, platform in platforms.items():
            self._supervise(name, platform)
        lock_path = self.config.paths.home / LOCK_FILE
        self.scheduler = Scheduler(
            hub,
            lock_path=lock_path,
            lease=replication.scheduler_lease() if replication is not None else None,
            connected=self.connected,
        )
        self.scheduler.start()
        pruner = MediaCachePruner(self.config.paths.media_cache, gateway.media_cache_days)
        pruner.start()
        inbox_pruner = InboxPruner(store.inbox, gateway.inbox_retention_days, gateway.max_message_age_seconds)
        inbox_pruner.start()
        control = ControlServer(
            control_socket_path(self.config.paths), status_handlers(self), DashboardChat(self).streams()
        )
        await control.start()
        self.started.set()
        log.info("gateway running with %s", ", ".join(platforms))
        try:
            await self.stop_requested.wait()
            grace = gateway.shutdown_grace_seconds
            log.info("shutting down: finishing runs in flight (up to %.0f s)", grace)
            # One grace period for both: jobs and chat runs finish side by side.
            await asyncio.gather(self.scheduler.stop(grace), hub.drain(grace))
            await asyncio.gather(*(s.stop() for s in self.supervisors.values()))
            if replication is not None:
                await replication.stop()
        finally:
            await asyncio.gather(pruner.stop(), inbox_pruner.stop())
            await control.stop()

    def _supervise(self, name: str, platform: Platform) -> None:
        assert self.hub is not None
        gateway = self.config.settings.gateway
        backoff = Backoff(gateway.reconnect_min_seconds, gateway.reconnect_max_seconds)
        supervisor = PlatformSupervisor(platform, self.hub, backoff, on_connected=self.hub.resume_pending)
        self.supervisors[name] = supervisor
        self.hub.platforms[name] = platform
        self.connected[name] = supervisor.connected
        if self.replication is not None and platform.exclusive:
            self.replication.hold(platform, supervisor)
        else:
            supervisor.start()

    async def _unsupervise(self, name: str) -> None:
        assert self.hub is not None
        supervisor = self.supervisors.pop(name)
        self.connected.pop(name, None)
        if self.replication is not None:
            await self.replication.let_go(name)
        await supervisor.stop()
        self.hub.platforms.pop(name, None)

    async def reload(self) -> ReloadResult:
        """Re-read the settings and apply what a running gateway can (see gateway/reload.py). A
        configuration the gateway would not start with is refused, and the old one stays in force."""
        async with self._reloading:
            try:
                new = await asyncio.to_thread(load_config, self.environ)
                platforms = enabled_platforms(new)
                if not platforms:
                    raise ConfigError([f"no platform is enabled: {no_platform_fix(new.paths.env_file)}"])
            except ConfigError as exc:
                log.error("reload refused, the settings in force stay: %s", "; ".join(exc.problems))
                return ReloadResult(refused=exc.problems)
            result = await self._apply(new, platforms)
        log.info(
            "reloaded: %s%s",
            ", ".join(result.applied) or "nothing changed",
            f"; needs a restart: {', '.join(result.needs_restart)}" if result.needs_restart else "",
        )
        return result

    async def _apply(self, new: LoadedConfig, platforms: dict[str, Platform]) -> ReloadResult:
        hub = self.hub
        if hub is None:
            return ReloadResult(refused=["the gateway has not started yet"])
        old = self.config
        gateway = new.settings.gateway
        hub.reconfigure(
            HubOptions.from_settings(new.settings),
            AccessList(frozenset(gateway.allowed_users), gateway.allow_all_users),
        )
        self.config = new
        result = ReloadResult()
        for name in sorted(set(self.supervisors) | set(platforms)):
            if name not in platforms:
                await self._unsupervise(name)
            elif name not in self.supervisors:
                self._supervise(name, platforms[name])
            elif platform_section(old, name) != platform_section(new, name):
                # Stopped first: the new one may need what the old one holds (the API server's port).
                await self._unsupervise(name)
                self._supervise(name, platforms[name])
            else:
                continue
            result.restarted.append(name)
        result.applied, result.needs_restart = sort_changes(
            changed_keys(old, new), set(platforms) | set(result.restarted)
        )
        return result

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop_requested.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload_in_background)

    def _reload_in_background(self) -> None:
        task = asyncio.ensure_future(self.reload())
        self._reload_tasks.add(task)
        task.add_done_callback(self._reload_tasks.discard)
