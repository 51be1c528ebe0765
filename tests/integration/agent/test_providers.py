"""Every provider family against the fake LLM through its official client: the same conversation, tool
calls and failures."""

from __future__ import annotations

import asyncio
import time

import pytest

from hermes.agent.contract import Failed, Final, ToolFinished, ToolStarted
from hermes.agent.memory import MemoryFiles
from hermes.agent.providers.retry import RetryPolicy
from tests.fakes.llm import Call, Cut, Error, Malformed, Stall, Text, ToolCalls
from tests.integration.agent.conftest import CHAT_PROVIDERS, SECRET, MakeRig, all_text, texts, tool_results

pytestmark = pytest.mark.parametrize("provider", CHAT_PROVIDERS)


async def test_a_conversation_carries_its_history(make_rig: MakeRig, provider: str) -> None:
    rig = await make_rig(provider)
    rig.llm.script(Text("Nice to meet you, Ada."))
    first = await rig.run("Hi, I am Ada.")
    assert isinstance(first[-1], Final)
    assert first[-1].text == "Nice to meet you, Ada." == texts(first)
    assert first[-1].model == "fake-model"
    assert first[-1].usage.prompt_tokens > 0 and first[-1].usage.completion_tokens > 0

    second = await rig.run("What is my name?")
    assert isinstance(second[-1], Final) and second[-1].text == "What is my name?"
    request = rig.llm.chat_requests[-1]
    assert request.stream and request.model == "fake-model"
    assert "Hi, I am Ada." in all_text(request) and "Nice to meet you, Ada." in all_text(request)
    assert "You are Hermes" in request.system
    # A keyless custom endpoint gets no Authorization header at all, rather than a made-up key.
    assert request.api_key == (SECRET if provider != "custom" else None)
    assert request.api == ("anthropic" if provider == "anthropic" else "openai")


async def test_tool_calls_run_and_their_results_go_back(make_rig: MakeRig, provider: str) -> None:
    rig = await make_rig(provider)
    rig.llm.script(
        ToolCalls(
            [
                Call("memory", {"action": "add", "target": "user", "content": "Likes green tea"}),
                Call("todo", {"todos": [{"id": "1", "content": "Brew tea", "status": "pending"}]}),
            ],
            text="Let me note that.",
        ),
        Text("Noted."),
    )
    events = await rig.run("Remember that I like green tea.")
    started = [e for e in events if isinstance(e, ToolStarted)]
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [s.name for s in started] == ["memory", "todo"]
    assert started[0].arguments == {"action": "add", "target": "user", "content": "Likes green tea"}
    assert sorted(f.name for f in finished) == ["memory", "todo"] and all(f.ok for f in finished)
    assert isinstance(events[-1], Final) and events[-1].text == "Let me note that.\n\nNoted." == texts(events)
    assert await MemoryFiles(rig.config.paths).entries("user") == ["Likes green tea"]

    follow_up = rig.llm.chat_requests[-1]
    results = tool_results(follow_up)
    assert any("USER.md now holds" in r for r in results)
    assert any("[ ] 1. Brew tea" in r for r in results)
    assert {"memory", "session_search", "todo"} <= set(follow_up.tool_names)


async def test_rate_limit_waits_for_retry_after_then_succeeds(make_rig: MakeRig, provider: str) -> None:
    rig = await make_rig(provider)
    rig.llm.script(Error(429, retry_after=0.3), Text("Back again."))
    started = time.monotonic()
    events = await rig.run("hello")
    assert time.monotonic() - started >= 0.3
    assert isinstance(events[-1], Final) and events[-1].text == "Back again."
    assert len(rig.llm.chat_requests) == 2


async def test_retries_are_bounded_then_one_clear_failure(make_rig: MakeRig, provider: str) -> None:
    rig = await make_rig(provider, config={"model": {"api_key": SECRET}})
    rig.llm.script(*[Error(503, message=f"overloaded, key {SECRET}")] * 4, Text("never reached"))
    events = await rig.run("hello")
    failed = events[-1]
    assert isinstance(failed, Failed) and not failed.cancelled
    assert failed.status == 503
    assert "503" in failed.message and "gave up after 4 attempts" in failed.message
    assert SECRET not in failed.message
    assert len(rig.llm.chat_requests) == 4 and rig.llm.pending == 1


async def test_a_retry_after_beyond_the_time_budget_fails_at_once(make_rig: MakeRig, provider: str) -> None:
    rig = await make_rig(provider, retry=RetryPolicy(max_retries=5, max_seconds=2.0, base_delay=0.01))
    rig.llm.script(Error(429, retry_after=30))
    started = time.monotonic()
    events = await rig.run("hello")
    assert time.monotonic() - started < 2.0
    assert isinstance(events[-1], Failed) and events[-1].status == 429
    assert len(rig.llm.chat_requests) == 1


@pytest.mark.parametrize(
    "turn", [Error(500), Error(500, in_stream=True), Cut(after=1)], ids=["500", "in-stream", "cut"]
)
async def test_failures_before_any_text_are_retried(make_rig: MakeRig, provider: str, turn) -> None:
    rig = await make_rig(provider)
    rig.llm.script(turn, Text("Recovered."))
    events = await rig.run("hello")
    assert isinstance(events[-1], Final) and events[-1].text == "Recovered." == texts(events)
    assert len(rig.llm.chat_requests) == 2


async def test_client_errors_are_not_retried_and_hide_the_key(make_rig: MakeRig, provider: str) -> None:
    rig = await make_rig(provider, config={"model": {"api_key": SECRET}})
    rig.llm.script(Error(401, message=f"Incorrect API key provided: {SECRET}"))
    events = await rig.run("hello")
    assert isinstance(events[-1], Failed) and events[-1].status == 401
    assert "401" in events[-1].message and SECRET not in events[-1].message
    assert len(rig.llm.chat_requests) == 1


async def test_a_stream_cut_mid_reply_ends_the_run_with_a_clear_error(
    make_rig: MakeRig, provider: str
) -> None:
    rig = await make_rig(provider)
    rig.llm.script(Cut(after=6, reply=Text("one two three four five six seven eight nine ten")))
    events = await rig.run("count")
    assert texts(events).startswith("one two")
    assert isinstance(events[-1], Failed) and "cut off" in events[-1].message
    assert len(rig.llm.chat_requests) == 1
    # What the user saw is kept, and the session goes on.
    stored = await rig.session_messages()
    assert stored[-1].role == "assistant" and stored[-1].content.endswith("[interrupted]")
    after = await rig.run("go on")
    assert isinstance(after[-1], Final)
    assert "one two" in all_text(rig.llm.chat_requests[-1])


async def test_a_malformed_chunk_ends_the_run_with_a_clear_error(make_rig: MakeRig, provider: str) -> None:
    rig = await make_rig(provider)
    rig.llm.script(Malformed(after=4, reply=Text("alpha beta gamma delta epsilon zeta")))
    events = await rig.run("hello")
    assert isinstance(events[-1], Failed) and "malformed" in events[-1].message
    assert isinstance((await rig.run("still there?"))[-1], Final)


async def test_invalid_json_in_tool_arguments_is_reported_to_the_model(
    make_rig: MakeRig, provider: str
) -> None:
    rig = await make_rig(provider)
    rig.llm.script(ToolCalls([Call("todo", '{"todos": [{"id": ')]), Text("Sorry, retrying later."))
    events = await rig.run("plan my day")
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert len(finished) == 1 and not finished[0].ok
    assert isinstance(events[-1], Final) and events[-1].text == "Sorry, retrying later."
    (result,) = tool_results(rig.llm.chat_requests[-1])
    assert "not valid JSON" in result and '{"todos": [{"id": ' in result
    # The broken call is stored with `{}`, so the transcript stays sendable to any provider.
    stored = await rig.session_messages()
    assert stored[1].tool_calls[0]["arguments"] == "{}"


async def test_a_stalled_stream_stops_within_a_second_of_cancel(make_rig: MakeRig, provider: str) -> None:
    rig = await make_rig(provider)
    rig.llm.script(Stall(after=2))
    cancel = asyncio.Event()
    run = asyncio.create_task(rig.run("are you there?", cancel=cancel))
    await rig.llm.wait_for_requests(1, timeout=5)
    await asyncio.sleep(0.05)
    cancelled_at = time.monotonic()
    cancel.set()
    events = await run
    assert time.monotonic() - cancelled_at < 1.0
    assert isinstance(events[-1], Failed) and events[-1].cancelled
    assert isinstance((await rig.run("hello again"))[-1], Final)
