"""Runs started with `POST /v1/runs`: each one an agent run in a task of its own, with its lifecycle kept
as numbered events that any number of clients may follow (and re-follow with `Last-Event-ID`).

Everything is bounded: events per run (the oldest are dropped, and a late reader is told how many it
missed), runs kept (the oldest finished ones go first), and finished runs are forgotten after an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TERMINAL = {"completed", "failed", "cancelled"}
# `last_event` follows these; text deltas would only churn it.
_STATUS_EVENTS = {
    "tool.started",
    "tool.completed",
    "approval.request",
    "approval.responded",
    "run.completed",
    "run.failed",
    "run.cancelled",
}


@dataclass(frozen=True)
class RunEvent:
    seq: int
    data: dict[str, Any]


@dataclass(eq=False)
class Run:
    id: str
    owner: str
    session_id: str
    model: Any
    max_events: int
    clock: Callable[[], float] = time.time
    status: str = "queued"
    last_event: str | None = None
    output: str | None = None
    usage: dict[str, int] | None = None
    error: str | None = None
    # Ids of the gateway's approval questions waiting for this run's followers, oldest first.
    pending_questions: list[str] = field(default_factory=list)
    # "session" answered once: the rest of this run's questions are approved without asking.
    approve_rest: bool = False
    stop_requested: bool = False
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    events: deque[RunEvent] = field(init=False)
    _next_seq: int = 1
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.events = deque(maxlen=self.max_events)
        self.created_at = self.updated_at = self.clock()

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def set_status(self, status: str) -> None:
        self.status = status
        self.updated_at = self.clock()
        self._wake()

    def emit(self, event: str, **fields: Any) -> None:
        now = self.clock()
        self.events.append(
            RunEvent(self._next_seq, {"event": event, "run_id": self.id, "timestamp": now, **fields})
        )
        self._next_seq += 1
        self.updated_at = now
        if event in _STATUS_EVENTS:
            self.last_event = event
        self._wake()

    def since(self, after: int) -> tuple[list[RunEvent], int]:
        """The kept events numbered above `after`, and how many of those were dropped already."""
        kept = [event for event in self.events if event.seq > after]
        first = kept[0].seq if kept else self._next_seq
        return kept, max(0, first - after - 1)

    async def wait_change(self, timeout: float) -> None:
        waiter = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "object": "hermes.run",
            "run_id": self.id,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "session_id": self.session_id,
            "model": self.model,
            "last_event": self.last_event,
        }
        if self.status == "completed":
            body.update(output=self.output, usage=self.usage)
        if self.error is not None:
            body["error"] = self.error
        return body


class RunRegistry:
    def __init__(
        self,
        *,
        max_runs: int = 1000,
        max_events: int = 2000,
        retain_seconds: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_runs = max_runs
        self.max_events = max_events
        self.retain_seconds = retain_seconds
        self.clock = clock
        self._runs: OrderedDict[str, Run] = OrderedDict()

    def add(self, run_id: str, owner: str, session_id: str, model: Any) -> Run:
        self._forget_old()
        run = Run(run_id, owner, session_id, model, self.max_events, self.clock)
        self._runs[run_id] = run
        return run

    def get(self, run_id: str) -> Run | None:
        self._forget_old()
        return self._runs.get(run_id)

    def live(self) -> list[Run]:
        return [run for run in self._runs.values() if not run.finished]

    def _forget_old(self) -> None:
        now = self.clock()
        expired = [
            run_id
            for run_id, run in self._runs.items()
            if run.finished and now - run.updated_at > self.retain_seconds
        ]
        for run_id in expired:
            del self._runs[run_id]
        if len(self._runs) <= self.max_runs:
            return
        # Over the cap: the oldest finished runs go; live runs are never dropped (the cap on concurrent
        # runs bounds them).
        for run_id in [run_id for run_id, run in self._runs.items() if run.finished]:
            if len(self._runs) <= self.max_runs:
                break
            del self._runs[run_id]
