"""Messages per second through the hub: the in-memory test platform, the real local agent and store, and
the fake LLM answering at once in its own process. Each session is a conversation (the next message
waits for the previous reply); measured with 1 and with 100 sessions talking at once. Every message must
be answered exactly once. Prints one JSON line."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from hermes.agent.local import LocalAgent
from hermes.config import load_config
from hermes.gateway.hub import Hub, HubOptions
from hermes.platforms.base import AccessList
from hermes.store import Store
from hermes.testing import TestPlatform
from tests.fakes.llm import FakeLLMProcess
from tests.harness.gateway import llm_config, write_home


class DoneSignals:
    """Wraps the inbox's mark_done so each conversation wakes when its own message is answered."""

    def __init__(self, store: Store) -> None:
        self.done: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._mark_done = store.inbox.mark_done
        store.inbox.mark_done = self.mark_done  # type: ignore[method-assign]

    async def mark_done(self, platform: str, event_id: str, reply_ids: list[str]) -> None:
        await self._mark_done(platform, event_id, reply_ids)
        self.done[event_id].set()


async def conversation(platform: TestPlatform, signals: DoneSignals, chat: str, messages: int) -> None:
    for i in range(messages):
        event_id = f"{chat}-{i}"
        await platform.push(f"message {i}", user=f"@{chat}", chat=chat, event_id=event_id)
        await signals.done[event_id].wait()


class QuietPlatform(TestPlatform):
    """The public test platform wakes every waiter on each send; nothing waits on it here."""

    async def _notify(self) -> None:
        return


async def measure(base_url: str, sessions: int, messages: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="hermes-bench-") as home_dir:
        # One person per session sends far more than the per-person limit allows a person.
        tree = {"model": llm_config(base_url), "gateway": {"user_messages_per_minute": 0}}
        home = write_home(Path(home_dir), config=tree)
        config = load_config({"HERMES_HOME": str(home)})
        store = await Store.open(config.paths.state_db)
        agent = LocalAgent(config, store)
        platform = QuietPlatform()
        signals = DoneSignals(store)
        hub = Hub(store, agent, {"test": platform}, HubOptions.from_settings(config.settings), AccessList())
        await platform.start(hub)
        await conversation(platform, signals, "warmup", 5)
        started = time.perf_counter()
        await asyncio.gather(*(conversation(platform, signals, f"s{i}", messages) for i in range(sessions)))
        # The finish line: every run over and every event marked done.
        await hub.drain(30)
        elapsed = time.perf_counter() - started
        total = sessions * messages
        replies = len(platform.messages) - 5
        if await store.inbox.backlog_count():
            raise AssertionError("events left unanswered")
        await agent.close()
        await store.close()
    if replies != total:
        raise AssertionError(f"{total} messages got {replies} replies")
    return {"messages": total, "seconds": round(elapsed, 3), "messages_per_s": round(total / elapsed, 1)}


async def main() -> None:
    async with FakeLLMProcess("--instant", "--no-record") as llm:
        one = await measure(llm.base_url, 1, 300)
        hundred = await measure(llm.base_url, 100, 10)
    print(
        json.dumps(
            {
                "bench": "hub_throughput",
                "date": time.strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
                "sessions_1": one,
                "sessions_100": hundred,
                "target_messages_per_s_at_100": 500,
                "answered_exactly_once": True,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
