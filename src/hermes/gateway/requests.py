"""Runs for request-driven platforms (the API server): no inbox, the caller waits on the stream; runs on one
session are serialised like chat runs, and counted as in flight.

At shutdown new runs are refused at once, and runs in flight get the same grace period as chat
runs before they are cancelled, so a stop takes one grace period, not one per kind of run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager

from hermes.agent.contract import AgentEvent, AgentPort, Failed, GatewayServices, RunRequest

log = logging.getLogger(__name__)

SHUTTING_DOWN = "The gateway is shutting down."
# After cancelling, how long to wait for runs to write what they have and end.
_CANCEL_WAIT_SECONDS = 2.0


class RequestRuns:
    def __init__(self, agent: AgentPort) -> None:
        self.agent = agent
        self.in_flight = 0
        # For `hermes gateway status`: requests are events too, though they never pass the inbox.
        self.last_request_at: dict[str, float] = {}
        self._accepting = True
        self._locks: dict[str, asyncio.Lock] = {}
        # With replicas sharing PostgreSQL: a lock on a session across every replica, taken inside this
        # replica's own lock so that only one run per session here waits for it.
        self.shared_lock: Callable[[str], AbstractAsyncContextManager[None]] | None = None
        self._cancels: set[asyncio.Event] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    async def run(
        self, request: RunRequest, cancel: asyncio.Event, services: GatewayServices
    ) -> AsyncGenerator[AgentEvent, None]:
        self.last_request_at[request.platform] = time.time()
        lock = self._locks.setdefault(request.session_key, asyncio.Lock())
        try:
            async with lock, self._shared(request.session_key):
                async for event in self._counted(request, cancel, services):
                    yield event
        finally:
            if not lock.locked() and self._locks.get(request.session_key) is lock:
                del self._locks[request.session_key]

    def _shared(self, session_key: str) -> AbstractAsyncContextManager[None]:
        return contextlib.nullcontext() if self.shared_lock is None else self.shared_lock(session_key)

    def refuse_new(self) -> None:
        self._accepting = False

    async def finish(self, grace: float) -> None:
        """Waits for the runs in flight, cancelling those still going after `grace`."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
            return
        except TimeoutError:
            log.warning("shutdown: cancelling %d API run(s) still going after %.0f s", self.in_flight, grace)
        for cancel in self._cancels:
            cancel.set()
        try:
            await asyncio.wait_for(self._idle.wait(), _CANCEL_WAIT_SECONDS)
        except TimeoutError:
            log.warning("shutdown: %d API run(s) did not stop when cancelled", self.in_flight)

    async def _counted(
        self, request: RunRequest, cancel: asyncio.Event, services: GatewayServices
    ) -> AsyncGenerator[AgentEvent, None]:
        # Checked here, not on arrival: a run queued behind its session's lock may get it after drain began.
        if not self._accepting:
            yield Failed(SHUTTING_DOWN, cancelled=True)
            return
        self.in_flight += 1
        self._cancels.add(cancel)
        self._idle.clear()
        try:
            async for event in self.agent.run(request, cancel, services):
                yield event
        finally:
            self.in_flight -= 1
            self._cancels.discard(cancel)
            if not self.in_flight:
                self._idle.set()
