"""search_files with patterns written by a steered model: none can freeze the gateway."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from tests.fakes.llm import Call, FakeLLM, Text, ToolCalls
from tests.integration.agent.conftest import tool_results
from tests.integration.tools.conftest import AgentRig

MakeAgent = Callable[..., Awaitable[AgentRig]]


async def _longest_stall(work: Awaitable[object]) -> float:
    """The longest time the event loop went without running a 10 ms ticker while `work` ran."""
    stalls = [0.0]

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            stalls.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    try:
        await work
    finally:
        ticker.cancel()
    return max(stalls)


async def test_a_catastrophic_pattern_does_not_hold_the_loop(make_agent: MakeAgent, llm: FakeLLM) -> None:
    # With a backtracking engine, (a+)+$ on 28 a's and a "!" takes seconds of GIL-holding work (29: 13 s,
    # 40: hours), during which nothing else in the gateway ran, /health included.
    rig = await make_agent()
    rig.workspace.mkdir(parents=True, exist_ok=True)
    (rig.workspace / "bait.txt").write_text("a" * 28 + "!\n" + "a" * 5_000_000 + "!\n" + "a" * 40 + "\n")
    llm.script(ToolCalls([Call("search_files", {"pattern": "(a+)+$"})]), Text("Searched."))
    stall = await _longest_stall(rig.run("search"))
    assert tool_results(llm.chat_requests[-1]) == [
        f"bait.txt:3: {'a' * 40}\n[1 line(s) longer than 10000 characters not searched, first bait.txt:2]"
    ]
    assert stall < 3.0, f"the event loop stalled for {stall:.1f} s"


async def test_patterns_the_safe_engine_cannot_run_get_a_clear_error(
    make_agent: MakeAgent, llm: FakeLLM
) -> None:
    rig = await make_agent()
    rig.workspace.mkdir(parents=True, exist_ok=True)
    (rig.workspace / "notes.txt").write_text("abab\n")
    llm.script(
        ToolCalls([Call("search_files", {"pattern": r"(ab)\1"})]),
        ToolCalls([Call("search_files", {"pattern": "a" * 1001})]),
        ToolCalls([Call("search_files", {"pattern": "(?i)AB"})]),
        Text("Searched."),
    )
    await rig.run("search")
    backref, too_long, fine = tool_results(llm.chat_requests[-1])
    assert backref.startswith("Error: pattern is not a regular expression this search accepts (RE2 syntax")
    assert "invalid escape sequence" in backref
    assert too_long == "Error: pattern is 1001 characters long; the limit is 1000"
    assert fine == "notes.txt:1: abab"
