"""One cap on agent runs for the whole API (chat completions, responses, runs, session chat): a request
over it gets a 429 with `Retry-After` instead of queueing behind the others."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hermes.platforms.api_server.errors import too_many_runs


class Admission:
    def __init__(self, max_runs: int) -> None:
        self.max_runs = max_runs
        self.in_flight = 0

    def check(self) -> None:
        """Raises the 429 when no run may start now."""
        if self.in_flight >= self.max_runs:
            raise too_many_runs(self.max_runs)

    def acquire(self) -> None:
        """Takes a slot (429 when none is free); the caller must `release` it."""
        self.check()
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()
