"""The one exponential backoff: reconnects, retried requests and retried model calls all wait by it;
and `RetryBudget`, the one way a request's retries are kept within a time limit.

The delay before attempt `n` (0-based) is `minimum * 2**n`, capped at `maximum`, then shortened by a
random share of up to `jitter` — so many clients cut off by one server restart do not return in lockstep,
and `maximum` stays a true maximum.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def exponential_delay(attempt: int, minimum: float, maximum: float, jitter: float = 0.0) -> float:
    nominal = min(maximum, minimum * 2.0 ** max(0, attempt))
    return nominal * random.uniform(1 - jitter, 1) if jitter else nominal


@dataclass
class Backoff:
    """`exponential_delay` with its attempt counter, for a loop that retries until it succeeds."""

    minimum: float
    maximum: float
    jitter: float = 0.2
    attempt: int = 0

    def next_delay(self) -> float:
        delay = exponential_delay(self.attempt, self.minimum, self.maximum, self.jitter)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


@dataclass
class RetryBudget:
    """One request's retries: the attempts made, a backoff delay for the next, and whether a wait still fits
    in a budget of seconds counted from the first attempt."""

    minimum: float
    maximum: float
    jitter: float = 0.2
    clock: Callable[[], float] = time.monotonic
    attempt: int = 0
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def next_attempt(self) -> int:
        self.attempt += 1
        return self.attempt

    def delay(self) -> float:
        """The backoff before the attempt after the current one."""
        return exponential_delay(self.attempt - 1, self.minimum, self.maximum, self.jitter)

    def allows(self, wait: float, budget: float) -> bool:
        """Whether waiting `wait` seconds more keeps the request within `budget` seconds."""
        return self.clock() - self.started + wait <= budget
