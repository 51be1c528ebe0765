"""A long run through the hub: 100,000 chat messages, with state.db's size and the process's RSS read
every 10,000. Both must level off: what the gateway keeps per chat event (the inbox row, the hub's
bookkeeping) has to be forgotten again once the event is old enough.

In-process: the public test platform, the real hub, store and inbox pruner, and an agent that answers at
once and keeps nothing, so the figures are the gateway's own (a real agent also keeps the conversation,
which is the person's history and is meant to stay). The clock is simulated: the gateway gets a message
every 30 s from one of 50 people, so 100,000 messages span about a month, over four times the default
7-day retention; the pruner runs once per simulated hour, as in the gateway. Progress lines go to
stderr; one JSON line at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hermes.agent.contract import AgentEvent, Final, GatewayServices, RunRequest, TextDelta, Usage
from hermes.config import load_config
from hermes.gateway.hub import Hub, HubOptions
from hermes.gateway.inbox_pruning import InboxPruner
from hermes.platforms.base import AccessList
from hermes.store import Store
from hermes.testing import TestPlatform
from tests.harness.gateway import write_home

MESSAGES = 100_000
REPORT_EVERY = 10_000
CONVERSATIONS = 50
SECONDS_BETWEEN_MESSAGES = 30.0  # simulated
PRUNE_EVERY_SIMULATED = 3600.0
# Levelled off: the last half of the run grew by less than this share.
FLAT_WITHIN = 0.05


class SimulatedClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class InstantAgent:
    """Answers every run at once and remembers nothing."""

    async def run(
        self, request: RunRequest, cancel: asyncio.Event, services: GatewayServices | None = None
    ) -> AsyncIterator[AgentEvent]:
        yield TextDelta("ok")
        yield Final("ok", "instant", Usage(len(request.text), 1))

    async def close(self) -> None:
        return None


class QuietPlatform(TestPlatform):
    """Forgets what it sent once sent and keeps no typing log (a real network keeps those, not the
    gateway), and wakes nobody."""

    async def send(self, chat, text, *, idempotency_key, attachments=()):  # type: ignore[no-untyped-def]
        ref = await super().send(chat, text, idempotency_key=idempotency_key, attachments=attachments)
        self.messages.clear()
        self._by_key.clear()
        return ref

    async def typing(self, chat, on):  # type: ignore[no-untyped-def]
        return

    async def _notify(self) -> None:
        return


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def db_mib(path: Path) -> float:
    files = (path, path.with_name(path.name + "-wal"))
    return sum(f.stat().st_size for f in files if f.exists()) / 1024 / 1024


def levelled(series: list[float]) -> bool:
    middle, last = series[len(series) // 2 - 1], series[-1]
    return last <= middle * (1 + FLAT_WITHIN)


async def soak(home: Path) -> dict[str, object]:
    config = load_config({"HERMES_HOME": str(home)})
    settings = config.settings
    clock = SimulatedClock()
    store = await Store.open(config.paths.state_db, clock=clock)
    test_platform = QuietPlatform()
    options = HubOptions.from_settings(settings)
    hub = Hub(store, InstantAgent(), {"test": test_platform}, options, AccessList(), clock=clock)
    pruner = InboxPruner(
        store.inbox,
        settings.gateway.inbox_retention_days,
        settings.gateway.max_message_age_seconds,
        clock=clock,
    )
    await test_platform.start(hub)
    answered: dict[str, asyncio.Event] = {}
    mark_done = store.inbox.mark_done

    async def signalling_mark_done(platform_name: str, event_id: str, reply_ids: list[str]) -> None:
        await mark_done(platform_name, event_id, reply_ids)
        answered.pop(event_id).set()

    store.inbox.mark_done = signalling_mark_done  # type: ignore[method-assign]
    samples: list[dict[str, float]] = []
    next_prune = clock.now + PRUNE_EVERY_SIMULATED
    started = time.perf_counter()
    step = SECONDS_BETWEEN_MESSAGES
    for round_start in range(0, MESSAGES, CONVERSATIONS):
        waits = []
        for user in range(CONVERSATIONS):
            number = round_start + user
            event_id = f"e{number}"
            answered[event_id] = asyncio.Event()
            waits.append(answered[event_id].wait())
            clock.now += step
            await test_platform.push(
                f"message {number}", user=f"@user{user}", event_id=event_id, sent_at=clock.now
            )
        await asyncio.gather(*waits)
        if clock.now >= next_prune:
            await pruner.prune()
            next_prune = clock.now + PRUNE_EVERY_SIMULATED
        sent = round_start + CONVERSATIONS
        if sent % REPORT_EVERY == 0:
            sample = {
                "messages": sent,
                "state_db_mib": round(db_mib(config.paths.state_db), 2),
                "rss_mib": round(rss_mib(), 1),
                "inbox_rows": await store.inbox.size(),
            }
            samples.append(sample)
            print(json.dumps(sample), file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    await hub.drain(10)
    if await store.inbox.backlog_count():
        raise AssertionError("events left unanswered")
    await store.close()
    sizes = [s["state_db_mib"] for s in samples]
    rss = [s["rss_mib"] for s in samples]
    return {
        "messages": MESSAGES,
        "seconds": round(elapsed, 1),
        "simulated_days": round(MESSAGES * step / 86400, 1),
        "retention_days": pruner.retention_seconds / 86400,
        "samples": samples,
        "state_db_levelled_off": levelled(sizes),
        "rss_levelled_off": levelled(rss),
    }


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hermes-soak-") as home_dir:
        home = write_home(
            Path(home_dir), config={"model": {"provider": "custom", "base_url": "http://127.0.0.1:9"}}
        )
        result = await soak(home)
    print(
        json.dumps(
            {
                "bench": "soak",
                "date": time.strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
                **result,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
