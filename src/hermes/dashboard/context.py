"""What every page handler needs: the loaded configuration, state.db, the gateway link and the redactor."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from hermes.agent.skills import SkillIndex
from hermes.config import LoadedConfig
from hermes.dashboard.gateway_link import GatewayLink
from hermes.dashboard.history import HistoryCache
from hermes.observability.logging import Redactor
from hermes.store import Store


@dataclass
class Dashboard:
    config: LoadedConfig
    tui: bool
    link: GatewayLink
    redactor: Redactor
    # Kept, so a skill's front matter is parsed again only when its file changes.
    skills: SkillIndex
    history: HistoryCache = field(default_factory=HistoryCache)
    started_at: float = field(default_factory=time.time)
    _store: Store | None = None
    _opening: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def create(cls, config: LoadedConfig, *, tui: bool) -> Dashboard:
        from hermes.gateway.control import control_socket_path

        return cls(
            config=config,
            tui=tui,
            link=GatewayLink(control_socket_path(config.paths)),
            redactor=Redactor(config.secret_values()),
            skills=SkillIndex(config.paths.skills),
        )

    async def store(self, *, create: bool = False) -> Store | None:
        """The store (state.db, or PostgreSQL), opened on first use; None while state.db does not exist,
        unless `create` (a page that writes, such as adding a cron job, may make it as `hermes cron add`
        does)."""
        if self._store is not None:
            return self._store
        async with self._opening:
            if self._store is None:
                path = self.config.paths.state_db
                settings = self.config.settings.store
                if settings.url is None and not create and not await asyncio.to_thread(path.exists):
                    return None
                await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True, mode=0o700)
                self._store = await Store.configured(settings, path)
        return self._store

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None
