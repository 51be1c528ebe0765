"""The agent loop's own cost per turn, and the memory held by 1,000 idle sessions.

Prints one JSON line. The fake LLM runs in its own process and answers at once (`--instant`); the time spent
inside the provider (the HTTP client, the network, the fake) is measured and subtracted, so `own_ms_*` is
what the agent itself adds to a turn: session checks, prompt files, transcript writes, the loop.
Targets on the reference machine: own time <= 3 ms per turn with a 200-message session; RSS <= 150 MiB with
1,000 sessions. `--database-url postgresql://...` measures the same on PostgreSQL (an empty database).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hermes.agent.contract import Final, Origin, RunRequest
from hermes.agent.local import LocalAgent
from hermes.agent.providers import create_provider
from hermes.agent.providers.base import Provider, ProviderEvent, ProviderRequest
from hermes.config import load_config
from hermes.store import NewMessage, Store
from tests.fakes.llm import FakeLLMProcess

SESSION_MESSAGES = 200
WARMUP_TURNS = 5
MEASURED_TURNS = 30
IDLE_SESSIONS = 1000


class TimedProvider:
    """Counts the time spent waiting on the wrapped provider, and nothing the consumer does in between."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.name = inner.name
        self.spent = 0.0

    async def stream(self, request: ProviderRequest) -> AsyncIterator[ProviderEvent]:
        events = self.inner.stream(request).__aiter__()
        while True:
            started = time.perf_counter()
            try:
                event = await events.__anext__()
            except StopAsyncIteration:
                self.spent += time.perf_counter() - started
                return
            self.spent += time.perf_counter() - started
            yield event

    async def close(self) -> None:
        await self.inner.close()


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def history(pairs: int) -> list[NewMessage]:
    messages = []
    for i in range(pairs):
        call = {"id": f"call_{i}", "name": "todo", "arguments": '{"todos": []}'}
        messages += [
            NewMessage("user", f"Question {i}: " + "some words of context " * 8),
            NewMessage("assistant", "Let me check.", tool_calls=[call], model="fake-model"),
            NewMessage("tool", "The task list is empty.", tool_call_id=f"call_{i}", name="todo"),
            NewMessage("assistant", f"Answer {i}: " + "a reasonably long reply " * 8, model="fake-model"),
        ]
    return messages


async def turn(agent: LocalAgent, key: str, text: str) -> None:
    request = RunRequest(
        session_key=key,
        text=text,
        platform="bench",
        chat_kind="dm",
        origin=Origin("bench", key, "dm", user_id=key),
    )
    async for event in agent.run(request, asyncio.Event()):
        last = event
    if not isinstance(last, Final):
        raise RuntimeError(f"bench turn failed: {last}")


async def main(database_url: str | None = None) -> dict[str, object]:
    async with FakeLLMProcess("--instant", "--no-record") as llm:
        with tempfile.TemporaryDirectory() as home:
            (Path(home) / "config.yaml").write_text(
                f"model:\n  provider: custom\n  default: fake-model\n  base_url: {llm.url}\n"
            )
            config = load_config(environ={"HERMES_HOME": home})
            store = await Store.open(database_url or config.paths.state_db)
            provider = TimedProvider(create_provider(config.settings))
            agent = LocalAgent(config, store, provider=provider)
            try:
                session = await store.sessions.get_or_create(
                    "bench:long", platform="bench", chat_id="bench:long"
                )
                await store.sessions.append(session.id, history(SESSION_MESSAGES // 4))
                for i in range(WARMUP_TURNS):
                    await turn(agent, "bench:long", f"warm-up {i}")
                own, total = [], []
                for i in range(MEASURED_TURNS):
                    provider.spent = 0.0
                    started = time.perf_counter()
                    await turn(agent, "bench:long", f"measured turn {i}")
                    elapsed = time.perf_counter() - started
                    total.append(elapsed * 1000)
                    own.append((elapsed - provider.spent) * 1000)
                context = len(agent.conversation("bench:long").messages)  # type: ignore[union-attr]

                gc.collect()
                rss_before = rss_mib()
                for i in range(IDLE_SESSIONS):
                    await turn(agent, f"bench:idle:{i}", f"hello {i}")
                gc.collect()
                rss_after = rss_mib()
            finally:
                await agent.close()
                await store.close()
    return {
        "bench": "agent_turn",
        "store": "postgresql" if database_url else "sqlite",
        "own_ms_per_turn_median": round(statistics.median(own), 3),
        "own_ms_per_turn_p90": round(statistics.quantiles(own, n=10)[-1], 3),
        "total_ms_per_turn_median": round(statistics.median(total), 3),
        "session_messages_at_start": SESSION_MESSAGES + 2 * WARMUP_TURNS,
        "session_messages_at_end": context,
        "measured_turns": MEASURED_TURNS,
        "rss_mib_before_idle_sessions": round(rss_before, 1),
        "rss_mib_with_1000_idle_sessions": round(rss_after, 1),
        "target_own_ms_per_turn": 3.0,
        "target_rss_mib": 150,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="run on this (empty) PostgreSQL database instead of state.db")
    print(json.dumps(asyncio.run(main(parser.parse_args().database_url))))
