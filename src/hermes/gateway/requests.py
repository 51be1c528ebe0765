"""Runs for request-driven platforms (the API server): no inbox, the caller waits on the stream; runs on one
session are serialised like chat runs, and counted as in flight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hermes.agent.contract import AgentEvent, AgentPort, GatewayServices, RunRequest


class RequestRuns:
    def __init__(self, agent: AgentPort) -> None:
        self.agent = agent
        self.in_flight = 0
        self._locks: dict[str, asyncio.Lock] = {}

    async def run(
        self, request: RunRequest, cancel: asyncio.Event, services: GatewayServices
    ) -> AsyncIterator[AgentEvent]:
        """Stateless requests (with their own history) share no state and run at once."""
        if request.history is not None:
            async for event in self._counted(request, cancel, services):
                yield event
            return
        lock = self._locks.setdefault(request.session_key, asyncio.Lock())
        try:
            async with lock:
                async for event in self._counted(request, cancel, services):
                    yield event
        finally:
            if not lock.locked() and self._locks.get(request.session_key) is lock:
                del self._locks[request.session_key]

    async def _counted(
        self, request: RunRequest, cancel: asyncio.Event, services: GatewayServices
    ) -> AsyncIterator[AgentEvent]:
        self.in_flight += 1
        try:
            async for event in self.agent.run(request, cancel, services):
                yield event
        finally:
            self.in_flight -= 1
