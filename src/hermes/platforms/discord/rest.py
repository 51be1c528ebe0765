"""A thin Discord REST v10 client: `Bot` token, JSON in and out, Discord's error bodies turned into
`DiscordError`, and the rate limits honoured.

Rate limits are learned from the headers: each route maps to the bucket the server names
(`X-RateLimit-Bucket`), and a bucket is tracked per top-level resource (the channel, guild or webhook in
the path). A request waits while its bucket has nothing left until `Reset-After` has passed; one bucket's
requests go one at a time so that the count stays true. A 429 is waited out (`retry_after`) and retried;
`global: true` pauses every request of the client. Network errors and 5xx are retried for a while on
requests that are safe to repeat (reads, edits, and message creation, which the nonce deduplicates).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from hermes import __version__
from hermes.backoff import RetryBudget

log = logging.getLogger(__name__)

USER_AGENT = f"DiscordBot (https://github.com/hermes-gateway, {__version__})"
_TRANSIENT = frozenset({500, 502, 503, 504, 524})
_MAJOR_PARAMS = ("channel_id", "guild_id", "webhook_id", "token")


class DiscordError(Exception):
    """The API answered with an error status. `str()` reads like discord.py's, field errors included."""

    def __init__(self, status: int, code: int, message: str, errors: Any = None, reason: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        text = f"{status} {reason or _REASONS.get(status, '')} (error code: {code}): {message}"
        for field_name, problems in _flatten(errors):
            text += f"\nIn {field_name}: {problems}"
        super().__init__(text)


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
}


def _flatten(errors: Any, prefix: str = "") -> list[tuple[str, str]]:
    if not isinstance(errors, dict):
        return []
    found: list[tuple[str, str]] = []
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            found.append(
                (prefix or "body", " ".join(str(e.get("message", "")) for e in value if isinstance(e, dict)))
            )
        else:
            found += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return found


@dataclass(frozen=True)
class RetryPolicy:
    transient_budget: float = 0.0
    rate_limit_budget: float = 120.0


READ = RetryPolicy(transient_budget=10.0)
WRITE = RetryPolicy(transient_budget=60.0)
ONCE = RetryPolicy()
# For a first contact (start, doctor): an unreachable server is reported at once.
PROBE = RetryPolicy(rate_limit_budget=5.0)


@dataclass
class _Bucket:
    remaining: int | None = None
    reset_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RateLimits:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.route_buckets: dict[str, str] = {}
        self.buckets: dict[tuple[str, str], _Bucket] = {}
        self.global_until = 0.0

    def bucket(self, route: str, major: str) -> _Bucket:
        key = (self.route_buckets.get(route, route), major)
        found = self.buckets.get(key)
        if found is None:
            found = self.buckets[key] = _Bucket()
        return found

    async def wait(self, bucket: _Bucket) -> None:
        while True:
            now = self.clock()
            delay = max(self.global_until - now, 0.0)
            if bucket.remaining == 0 and bucket.reset_at > now:
                delay = max(delay, bucket.reset_at - now)
            if delay <= 0:
                return
            await asyncio.sleep(delay)
            if bucket.reset_at <= self.clock():
                bucket.remaining = None

    def learn(self, route: str, major: str, bucket: _Bucket, headers: Mapping[str, str]) -> None:
        name = headers.get("X-RateLimit-Bucket")
        if name and self.route_buckets.get(route) != name:
            self.route_buckets[route] = name
            self.buckets[(name, major)] = bucket
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        reset_after = _number(headers.get("X-RateLimit-Reset-After"))
        if remaining is not None:
            bucket.remaining = int(remaining)
            bucket.reset_at = self.clock() + (reset_after if reset_after is not None else 1.0)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


class RestClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0, proxy: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.proxy = proxy
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=10.0)
        self.limits = RateLimits()
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bot {self.token}", "User-Agent": USER_AGENT},
                timeout=self._timeout,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        query: Mapping[str, str] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        policy: RetryPolicy = READ,
    ) -> Any:
        """`route` is the path template (`/channels/{channel_id}/messages`): the bucket is keyed on it."""
        values = dict(params or {})
        path = route.format(**{k: _quote(v) for k, v in values.items()})
        major = next((values[p] for p in _MAJOR_PARAMS if p in values), "")
        bucket = self.limits.bucket(f"{method} {route}", major)
        retries = RetryBudget(0.5, 10.0)
        while True:
            retries.next_attempt()
            async with bucket.lock:
                await self.limits.wait(bucket)
                try:
                    status, headers, body = await self._send(method, path, json_body, query, form)
                except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                    delay = retries.delay()
                    if retries.allows(delay, policy.transient_budget):
                        await asyncio.sleep(delay)
                        continue
                    raise ConnectionError(f"{method} {path}: {exc or type(exc).__name__}") from exc
                self.limits.learn(f"{method} {route}", major, bucket, headers)
            if status == 429:
                wait = self._rate_limited(body, headers)
                if not retries.allows(wait, policy.rate_limit_budget):
                    raise _error(status, body, "Too Many Requests")
                log.info("discord: rate limited on %s %s; waiting %.2f s", method, route, wait)
                await asyncio.sleep(wait)
                continue
            if status in _TRANSIENT and retries.allows(delay := retries.delay(), policy.transient_budget):
                await asyncio.sleep(delay)
                continue
            if status >= 400:
                raise _error(status, body, "")
            return body

    def _rate_limited(self, body: Any, headers: Mapping[str, str]) -> float:
        retry = body.get("retry_after") if isinstance(body, dict) else None
        wait = float(retry) if isinstance(retry, int | float) else _number(headers.get("Retry-After")) or 1.0
        wait = max(wait, 0.05)
        is_global = (isinstance(body, dict) and body.get("global") is True) or headers.get(
            "X-RateLimit-Global"
        )
        if is_global:
            self.limits.global_until = max(self.limits.global_until, time.monotonic() + wait)
        return wait

    async def _send(
        self,
        method: str,
        path: str,
        json_body: Any,
        query: Mapping[str, str] | None,
        form: Callable[[], aiohttp.FormData] | None,
    ) -> tuple[int, Mapping[str, str], Any]:
        kwargs: dict[str, Any] = {"params": query, "proxy": self.proxy}
        if form is not None:
            kwargs["data"] = form()
        elif json_body is not None:
            kwargs["data"] = json.dumps(json_body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        async with self.session.request(method, self.base_url + path, **kwargs) as response:
            raw = await response.read()
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")[:300]
            return response.status, response.headers, body

    async def download(self, url: str, limit: int) -> bytes | None:
        """An attachment from the CDN (no Authorization, as Discord serves them); None when over `limit`."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=30.0)
        async with (
            aiohttp.ClientSession(timeout=timeout) as plain,
            plain.get(url, proxy=self.proxy) as response,
        ):
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
            return b"".join(chunks)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="@")


def _error(status: int, body: Any, reason: str) -> DiscordError:
    if isinstance(body, dict):
        code = body.get("code")
        return DiscordError(
            status,
            code if isinstance(code, int) else 0,
            str(body.get("message") or ""),
            body.get("errors"),
            reason,
        )
    return DiscordError(status, 0, str(body or ""), None, reason)
