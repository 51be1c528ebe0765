"""The /sync loop and its cursor.

The cursor (`next_batch`) is stored by the hub in the same transaction as the last event of the batch it
follows, or on its own when the batch carried nothing for the hub. A crash in the middle of a batch
therefore replays the whole batch, and the inbox drops what it had already accepted: every event is
handed over exactly once, including those sent while the bot was down.

An event read after its batch (an encrypted message whose room key is late, see `late_events.py`)
holds the stored cursor back at its batch until it is done.

Failures back off from 1 s to 60 s; a rejected access token ends the loop (retrying cannot help).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hermes.backoff import Backoff
from hermes.platforms.base import HubPort, Inbound
from hermes.platforms.matrix.http import (
    MatrixHTTP,
    Method,
    client_path,
    is_auth_error,
    is_rate_limited,
    retry_after,
)
from hermes.platforms.matrix.late_events import LateEvents

log = logging.getLogger(__name__)

PLATFORM = "matrix"
LONG_POLL_MS = 30_000


def sync_filter(timeline_limit: int) -> dict[str, Any]:
    """Only what the adapter reads: room timelines and state, and the account's `m.direct`."""
    return {
        "presence": {"types": []},
        "account_data": {"types": ["m.direct"]},
        "room": {
            "timeline": {"limit": timeline_limit},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
        },
    }


# High enough that a burst between two syncs rarely needs a gap fill; a first sync only needs the cursor.
TIMELINE_LIMIT = 100
FIRST_TIMELINE_LIMIT = 1

ReadBatch = Callable[[dict[str, Any], str | None], Awaitable[list[Inbound]]]


class SyncLoop:
    def __init__(
        self,
        http: MatrixHTTP,
        hub: HubPort,
        read_batch: ReadBatch,
        user_id: str,
        *,
        on_rejected: Callable[[BaseException], None],
        late: LateEvents | None = None,
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        long_poll_ms: int = LONG_POLL_MS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.hub = hub
        self.read_batch = read_batch
        self.user_id = user_id
        self.on_rejected = on_rejected
        self.late = late or LateEvents(hub)
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.long_poll_ms = long_poll_ms
        self._sleep = sleep
        self._filters: dict[int, str] = {}
        # Set once the first batch has been handed over (the bot has caught up with what it missed).
        self.caught_up = asyncio.Event()

    async def run(self, since: str | None) -> None:
        # Unjittered: one bot's own sync loop, and the waits stay predictable in its log.
        backoff = Backoff(self.min_backoff, self.max_backoff, jitter=0)
        failing = False
        while True:
            try:
                sync = await self._fetch(since)
                inbounds = await self.read_batch(sync, since)
                next_batch = sync["next_batch"]
                if failing or not self.caught_up.is_set():
                    # What arrived while the bot was away or cut off.
                    async with self.hub.catch_up(PLATFORM):
                        await self._hand_over(inbounds, next_batch, since)
                else:
                    await self._hand_over(inbounds, next_batch, since)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_auth_error(exc):
                    self.on_rejected(exc)
                    return
                asked = retry_after(exc) if is_rate_limited(exc) else None
                wait = max(asked, 0.05) if asked is not None else backoff.next_delay()
                failing = True
                log.warning("matrix: sync failed (%s); retrying in %.1f s", _describe(exc), wait)
                await self._sleep(wait)
                continue
            if failing:
                log.info("matrix: sync is working again")
                failing = False
            backoff.reset()
            since = next_batch
            self.caught_up.set()

    async def _filter_id(self, timeline_limit: int) -> str:
        """Filters are uploaded once: the homeserver then need not parse and check one on every request."""
        if timeline_limit not in self._filters:
            path = client_path("user/{}/filter", self.user_id)
            answer = await self.http.request(Method.POST, path, sync_filter(timeline_limit))
            self._filters[timeline_limit] = str(answer["filter_id"])
        return self._filters[timeline_limit]

    async def _fetch(self, since: str | None) -> dict[str, Any]:
        if since is None:
            query = {"filter": await self._filter_id(FIRST_TIMELINE_LIMIT), "timeout": "0"}
        else:
            query = {"filter": await self._filter_id(TIMELINE_LIMIT), "timeout": str(self.long_poll_ms)}
            query["since"] = since
        if since is not None and not self.caught_up.is_set():
            # Catch up at once on start instead of waiting for something new.
            query["timeout"] = "0"
        sync = await self.http.request(Method.GET, client_path("sync"), query_params=query)
        if not isinstance(sync, dict) or not isinstance(sync.get("next_batch"), str):
            raise ValueError("the homeserver's /sync answer has no next_batch")
        return sync

    async def _hand_over(self, inbounds: list[Inbound], next_batch: str, since: str | None) -> None:
        async with self.late.lock:
            cursor = self.late.cursor(next_batch)
            last_accepted = False
            for index, inbound in enumerate(inbounds):
                is_last = index == len(inbounds) - 1
                accepted = await self.hub.receive(inbound, cursor=cursor if is_last else None)
                last_accepted = is_last and accepted
            # A duplicate leaves the cursor where it was, and an empty batch has nothing to carry it.
            saved = cursor if last_accepted else None
            if not last_accepted and cursor not in (since, self.late.saved):
                await self.hub.save_cursor(PLATFORM, cursor)
                saved = cursor
            self.late.handed_over(next_batch, saved)


def _describe(exc: BaseException) -> str:
    errcode = getattr(exc, "errcode", None)
    status = getattr(exc, "http_status", None)
    if errcode or status:
        return f"{errcode or 'HTTP'} {status or ''}".strip()
    return f"{type(exc).__name__}: {exc}"
