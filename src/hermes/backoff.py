"""Exponential backoff for reconnects: the minimum, doubling per failure up to the maximum."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    minimum: float
    maximum: float
    # ± this share of each delay, so many clients cut off by one server restart do not return in lockstep.
    jitter: float = 0.2
    attempt: int = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.minimum * 2.0**self.attempt)
        self.attempt += 1
        if self.jitter:
            delay *= random.uniform(1 - self.jitter, 1 + self.jitter)
        return min(self.maximum, delay)

    def reset(self) -> None:
        self.attempt = 0
