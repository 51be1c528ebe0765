"""The server's optional rate limiter (channels/app/ratelimit.go over throttled's GCRA) and forced 429s."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# model/config.go: PerSec 10, MaxBurst 100; the limit header is MaxBurst + 1.
DEFAULT_PER_SECOND = 10
DEFAULT_BURST = 100
_SECOND_NS = 1_000_000_000


@dataclass(frozen=True)
class Verdict:
    limited: bool
    headers: dict[str, str]


class Gcra:
    """throttled.GCRARateLimiter with integer nanoseconds, as Go's time.Duration computes it."""

    def __init__(self, per_second: int, burst: int, clock: Callable[[], int] = time.monotonic_ns) -> None:
        if per_second <= 0 or burst < 0:
            raise ValueError("per_second must be positive and burst not negative")
        self.per_second = per_second
        self.burst = burst
        self.per_second = per_second
        self.burst = burst
        self.limit = burst + 1
        self.emission_ns = _SECOND_NS // per_second
        self.tolerance_ns = self.emission_ns * (burst + 1)
        self.clock = clock
        self._tat: dict[str, int] = {}

    def check(self, key: str) -> Verdict:
        now = self.clock()
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + self.emission_ns
        diff = now - (new_tat - self.tolerance_ns)
        if diff < 0:
            limited, ttl, retry_after = True, tat - now, -diff
        else:
            self._tat[key] = new_tat
            limited, ttl, retry_after = False, new_tat - now, -1
        headroom = self.tolerance_ns - ttl
        remaining = headroom // self.emission_ns if headroom > -self.emission_ns else 0
        headers = {
            "X-Ratelimit-Limit": str(self.limit),
            "X-Ratelimit-Remaining": str(max(remaining, 0)),
            "X-Ratelimit-Reset": str(math.ceil(ttl / _SECOND_NS)),
        }
        if retry_after >= 0:
            headers["Retry-After"] = str(math.ceil(retry_after / _SECOND_NS))
        return Verdict(limited, headers)


class RateLimiter:
    """Off by default, like the server; `force` makes the next requests fail whatever the quota says."""

    def __init__(self) -> None:
        self.gcra: Gcra | None = None
        self._forced = 0
        self._forced_prefix = "/"

    def configure(self, per_second: int | None, burst: int = DEFAULT_BURST) -> None:
        self.gcra = Gcra(per_second, burst) if per_second is not None else None

    def reset(self) -> None:
        """Forget every bucket, as a restarted server does (the store is in memory)."""
        if self.gcra is not None:
            self.gcra = Gcra(self.gcra.per_second, self.gcra.burst, self.gcra.clock)

    def force(self, count: int, path_prefix: str = "/") -> None:
        self._forced = count
        self._forced_prefix = path_prefix

    def check(self, key: str, path: str) -> Verdict | None:
        if self._forced > 0 and path.startswith(self._forced_prefix):
            self._forced -= 1
            limit = self.gcra.limit if self.gcra else DEFAULT_BURST + 1
            headers = {
                "X-Ratelimit-Limit": str(limit),
                "X-Ratelimit-Remaining": "0",
                "X-Ratelimit-Reset": "1",
                "Retry-After": "1",
            }
            return Verdict(True, headers)
        return self.gcra.check(key) if self.gcra else None
