"""Per-route buckets and the global limit, with Discord's headers and 429 bodies.

A bucket is keyed by route template and its top-level resource (channel, guild, webhook), as the API
does. Every limited response carries the complete header set (`Limit`, `Remaining`, `Reset`,
`Reset-After`, `Bucket`); a 429 also carries `Retry-After`, `X-RateLimit-Scope`, `Via` and the JSON
body, and `X-RateLimit-Global` when the global limit was hit.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    limit: int
    per: float
    used: int = 0
    window_start: float = 0.0

    def take(self, now: float) -> tuple[bool, int, float]:
        """(allowed, remaining, reset_after)."""
        if now - self.window_start >= self.per:
            self.window_start, self.used = now, 0
        reset_after = self.per - (now - self.window_start)
        if self.used >= self.limit:
            return False, 0, reset_after
        self.used += 1
        return True, self.limit - self.used, reset_after


@dataclass
class Verdict:
    headers: dict[str, str]
    retry_after: float | None = None
    global_: bool = False


@dataclass
class RateLimiter:
    # route template -> (limit, seconds); routes not listed share `default`.
    routes: dict[str, tuple[int, float]] = field(
        default_factory=lambda: {"POST /channels/{channel_id}/messages": (5, 5.0)}
    )
    default: tuple[int, float] = (50, 1.0)
    global_per_second: int = 50
    enabled: bool = True
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    forced: list[tuple[str, bool, float]] = field(default_factory=list)  # (path prefix, global, retry)
    _global: Bucket = field(default_factory=lambda: Bucket(50, 1.0))

    def force_429(
        self, count: int = 1, *, path_prefix: str = "", global_: bool = False, retry_after: float = 0.3
    ):
        self.forced.extend([(path_prefix, global_, retry_after)] * count)

    def check(self, route: str, resource: str, path: str, *, exempt_global: bool = False) -> Verdict:
        now = time.monotonic()
        for index, (prefix, is_global, retry) in enumerate(self.forced):
            if path.startswith(prefix):
                del self.forced[index]
                return self._limited(route, retry, is_global, 0)
        if not self.enabled:
            return Verdict({})
        if not exempt_global:
            self._global.limit = self.global_per_second
            ok, _, reset_after = self._global.take(now)
            if not ok:
                return self._limited(route, reset_after, True, 0)
        limit, per = self.routes.get(route, self.default)
        bucket = self.buckets.setdefault((route, resource), Bucket(limit, per))
        ok, remaining, reset_after = bucket.take(now)
        headers = self._headers(route, limit, remaining, reset_after)
        if not ok:
            return self._limited(route, reset_after, False, limit)
        return Verdict(headers)

    @staticmethod
    def _headers(route: str, limit: int, remaining: int, reset_after: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha1(route.encode()).hexdigest()[:32],
        }

    def _limited(self, route: str, retry_after: float, is_global: bool, limit: int) -> Verdict:
        headers = {
            "Retry-After": f"{max(retry_after, 0.001):.3f}",
            "X-RateLimit-Scope": "global" if is_global else "user",
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(self._headers(route, max(limit, 1), 0, retry_after))
        return Verdict(headers, retry_after=max(retry_after, 0.001), global_=is_global)
