"""`Idempotency-Key` on non-streaming requests: a retried request (same key, same body) gets the answer the
first one got instead of a second run, and a duplicate sent while the first still runs waits for it.

Bounded (entries and age), and scoped to the caller and its session header, so two clients that happen to
pick the same key never see each other's answers. A failed request is not kept: its retry runs again.
A key reused with another body runs again and replaces the entry, as the system we are compatible with does.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 256


@dataclass(frozen=True)
class Kept:
    fingerprint: str
    expires_at: float
    status: int
    body: bytes
    headers: Mapping[str, str]

    def response(self) -> web.Response:
        return web.Response(status=self.status, body=self.body, headers=dict(self.headers))


def fingerprint(body: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    chosen = {name: body.get(name) for name in fields}
    return hashlib.sha256(json.dumps(chosen, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyCache:
    def __init__(
        self,
        *,
        max_entries: int = 1000,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._kept: OrderedDict[tuple[str, ...], Kept] = OrderedDict()
        self._running: dict[tuple[tuple[str, ...], str], asyncio.Future[Kept | None]] = {}

    async def answer(
        self, scope: tuple[str, ...], fingerprint: str, compute: Callable[[], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        now = self._clock()
        kept = self._kept.get(scope)
        if kept is not None and kept.expires_at > now and kept.fingerprint == fingerprint:
            return kept.response()
        running = self._running.get((scope, fingerprint))
        if running is not None:
            shared = await asyncio.shield(running)
            if shared is not None:
                return shared.response()
            # The first one failed: this duplicate is a retry of its own.
            return await compute()
        future: asyncio.Future[Kept | None] = asyncio.get_running_loop().create_future()
        self._running[(scope, fingerprint)] = future
        try:
            response = await compute()
        except BaseException:
            future.set_result(None)
            raise
        finally:
            del self._running[(scope, fingerprint)]
        if not isinstance(response, web.Response) or not 200 <= response.status < 300:
            future.set_result(None)
            return response
        if not isinstance(response.body, bytes):
            future.set_result(None)
            return response
        expires = self._clock() + self.ttl_seconds
        kept = Kept(fingerprint, expires, response.status, response.body, dict(response.headers))
        self._keep(scope, kept)
        future.set_result(kept)
        return response

    def _keep(self, scope: tuple[str, ...], kept: Kept) -> None:
        self._kept[scope] = kept
        self._kept.move_to_end(scope)
        now = self._clock()
        while self._kept:
            oldest_scope, oldest = next(iter(self._kept.items()))
            if len(self._kept) <= self.max_entries and oldest.expires_at > now:
                break
            del self._kept[oldest_scope]
