"""The one exponential backoff: reconnects, retried requests and retried model calls all wait by it.

The delay before attempt `n` (0-based) is `minimum * 2**n`, capped at `maximum`, then shortened by a
random share of up to `jitter` — so many clients cut off by one server restart do not return in lockstep,
and `maximum` stays a true maximum.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


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
