"""A run whose caller waits for the whole answer (a JSON response)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing

from hermes.agent.contract import Failed, Final, RunRequest, TextDelta, ToolFinished, ToolStarted
from hermes.platforms.base import HubPort


async def run_to_end(
    hub: HubPort,
    run: RunRequest,
    take: Callable[[TextDelta | ToolStarted | ToolFinished], object] | None = None,
) -> Final | Failed | None:
    """The run's end (None if it ended without one), every other event handed to `take` on the way. A
    caller that is cancelled (its client went away) cancels the run."""
    cancel = asyncio.Event()
    end: Final | Failed | None = None
    try:
        async with aclosing(hub.run_request(run, cancel)) as events:
            async for event in events:
                if isinstance(event, Final | Failed):
                    end = event
                elif take is not None:
                    take(event)
    except asyncio.CancelledError:
        cancel.set()
        raise
    return end
