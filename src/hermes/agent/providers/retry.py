"""Retrying a provider call: exponential backoff with jitter, `Retry-After` honoured, bounded in count and
time.

The clients' own retries are switched off so that this is the only place that waits, and so that a
cancelled run stops waiting at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from hermes.agent.providers.base import (
    Provider,
    ProviderError,
    ProviderEvent,
    ProviderRequest,
    TextChunk,
    ToolCallDelta,
    ToolCallStart,
)
from hermes.backoff import exponential_delay
from hermes.config.settings import ModelSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    max_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    @classmethod
    def from_settings(cls, model: ModelSettings) -> RetryPolicy:
        return cls(max_retries=model.max_retries, max_seconds=model.retry_max_seconds)

    def backoff(self, retry: int) -> float:
        """Delay before retry number `retry` (0-based): half fixed, half random, doubling each time."""
        return exponential_delay(retry, self.base_delay, self.max_delay, jitter=0.5)


async def stream_with_retries(
    provider: Provider, request: ProviderRequest, policy: RetryPolicy
) -> AsyncIterator[ProviderEvent]:
    """The provider's events; failed attempts are retried only while nothing of the reply was passed on.

    Once text or a tool call has gone out, a retry would repeat it, so a later failure is raised as is.
    """
    started = time.monotonic()
    retry = 0
    while True:
        emitted = False
        try:
            async for event in provider.stream(request):
                if not emitted and isinstance(event, TextChunk | ToolCallStart | ToolCallDelta):
                    emitted = True
                yield event
            return
        except ProviderError as error:
            delay = error.retry_after if error.retry_after is not None else policy.backoff(retry)
            if (
                emitted
                or not error.retryable
                or retry >= policy.max_retries
                or time.monotonic() - started + delay > policy.max_seconds
            ):
                if retry == 0:
                    raise
                raise ProviderError(
                    f"{error.message} (gave up after {retry + 1} attempts)", status=error.status
                ) from error
            log.warning(
                "%s: %s; retrying in %.1fs (retry %d of %d)",
                provider.name,
                error.message,
                delay,
                retry + 1,
                policy.max_retries,
                # For a front end that shows retries its own way (`hermes chat`: one short line).
                extra={"retry": retry + 1, "retries": policy.max_retries, "status": error.status},
            )
            await asyncio.sleep(delay)
            retry += 1
