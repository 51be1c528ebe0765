"""The tool-calling loop: limits, timeouts, concurrency, errors, cancellation and what gets stored."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hermes.agent.contract import ChatMessage, Failed, Final, ImageInput, ToolFinished, ToolStarted
from hermes.agent.local import LocalAgent
from hermes.agent.providers.base import ProviderConfigError
from hermes.agent.tools.base import ToolContext, ToolResult
from hermes.config import load_config
from tests.fakes.llm import Call, Text, ToolCalls
from tests.integration.agent.conftest import KEY, MakeRig, all_text, texts, tool_results


class WaitingTool:
    """Blocks until released; records that it started. Two of these prove calls run at the same time."""

    description = "waits"
    parameters: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}

    def __init__(self, name: str) -> None:
        self.name = name
        self.running = 0
        self.peak = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = False

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.running -= 1
        return ToolResult(f"{self.name} done with {args}")


class BrokenTool:
    name = "broken"
    description = "always fails"
    parameters: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        raise RuntimeError("disk on fire")


async def test_independent_tool_calls_run_concurrently(make_rig: MakeRig) -> None:
    tool = WaitingTool("wait")
    rig = await make_rig(tools={"wait": tool})
    rig.llm.script(
        ToolCalls([Call("wait", {"n": 1}), Call("wait", {"n": 2}), Call("wait", {"n": 3})]), Text("ok")
    )
    run = asyncio.create_task(rig.run("go"))

    async def all_three_running() -> None:
        while tool.running < 3:
            await asyncio.sleep(0.005)

    await asyncio.wait_for(all_three_running(), 5)
    tool.release.set()
    events = await run
    assert tool.peak == 3
    assert isinstance(events[-1], Final)
    assert sorted(tool_results(rig.llm.chat_requests[-1])) == [
        f"wait done with {{'n': {n}}}" for n in (1, 2, 3)
    ]


async def test_a_tool_that_runs_too_long_is_stopped_and_the_model_told(make_rig: MakeRig) -> None:
    tool = WaitingTool("wait")
    rig = await make_rig(tools={"wait": tool}, config={"agent": {"tool_timeout_seconds": 0.2}})
    rig.llm.script(ToolCalls([Call("wait")]), Text("It timed out."))
    events = await rig.run("go")
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    assert not finished.ok and "0.2s" in finished.summary
    assert tool.cancelled
    assert "did not finish within 0.2s" in tool_results(rig.llm.chat_requests[-1])[0]
    assert isinstance(events[-1], Final) and events[-1].text == "It timed out."


async def test_unknown_tools_and_tool_exceptions_go_back_to_the_model(make_rig: MakeRig) -> None:
    rig = await make_rig(tools={"broken": BrokenTool()})
    rig.llm.script(ToolCalls([Call("no_such_tool", {"x": 1}), Call("broken")]), Text("Both failed."))
    events = await rig.run("go")
    finished = {e.name: e for e in events if isinstance(e, ToolFinished)}
    assert not finished["no_such_tool"].ok and not finished["broken"].ok
    unknown, broken = tool_results(rig.llm.chat_requests[-1])
    assert "no tool named 'no_such_tool'" in unknown and "memory" in unknown
    assert "RuntimeError: disk on fire" in broken
    assert isinstance(events[-1], Final) and events[-1].text == "Both failed."


async def test_tool_argument_mistakes_go_back_to_the_model(make_rig: MakeRig) -> None:
    rig = await make_rig()
    rig.llm.script(ToolCalls([Call("memory", {"action": "forget", "target": "user"})]), Text("Oops."))
    events = await rig.run("go")
    assert isinstance(events[-1], Final)
    assert (
        "argument 'action' must be one of add, replace, remove" in tool_results(rig.llm.chat_requests[-1])[0]
    )


async def test_the_run_stops_after_max_turns(make_rig: MakeRig) -> None:
    rig = await make_rig(config={"agent": {"max_turns": 3}})
    rig.llm.script(*[ToolCalls([Call("todo")])] * 5)
    events = await rig.run("loop forever")
    assert isinstance(events[-1], Failed) and "3 model turns" in events[-1].message
    assert len(rig.llm.chat_requests) == 3
    # Every turn was stored with its tool result, so the session continues cleanly.
    roles = [m.role for m in await rig.session_messages()]
    assert roles == ["user"] + ["assistant", "tool"] * 3
    assert isinstance((await rig.run("stop now"))[-1], Final)


async def test_cancelling_during_a_tool_stops_fast_and_keeps_the_transcript_valid(make_rig: MakeRig) -> None:
    tool = WaitingTool("wait")
    rig = await make_rig(tools={"wait": tool})
    rig.llm.script(ToolCalls([Call("wait")], text="Working on it."))
    cancel = asyncio.Event()
    run = asyncio.create_task(rig.run("go", cancel=cancel))
    await asyncio.wait_for(tool.started.wait(), 5)
    cancelled_at = time.monotonic()
    cancel.set()
    events = await run
    assert time.monotonic() - cancelled_at < 1.0
    assert isinstance(events[-1], Failed) and events[-1].cancelled
    assert tool.cancelled
    assert [type(e) for e in events if isinstance(e, ToolStarted | ToolFinished)] == [ToolStarted]
    stored = await rig.session_messages()
    assert [m.role for m in stored] == ["user", "assistant", "tool"]
    assert "cancelled" in stored[-1].content
    # The fake checks tool-call ordering as the real APIs do: a broken transcript would be refused.
    assert isinstance((await rig.run("next"))[-1], Final)


async def test_a_cancel_already_set_ends_the_run_at_once(make_rig: MakeRig) -> None:
    rig = await make_rig()
    cancel = asyncio.Event()
    cancel.set()
    events = await rig.run("hello", cancel=cancel)
    assert len(events) == 1 and isinstance(events[0], Failed) and events[0].cancelled
    assert rig.llm.chat_requests == []


async def test_transcripts_hold_roles_calls_results_models_and_usage(make_rig: MakeRig) -> None:
    rig = await make_rig()
    rig.llm.script(ToolCalls([Call("todo", {"todos": [{"id": "a", "content": "x"}]})]), Text("Done."))
    events = await rig.run("plan")
    assert isinstance(events[-1], Final)
    stored = await rig.session_messages()
    assert [(m.role, m.model) for m in stored] == [
        ("user", None),
        ("assistant", "fake-model"),
        ("tool", None),
        ("assistant", "fake-model"),
    ]
    call = stored[1].tool_calls[0]
    assert call["name"] == "todo" and stored[2].tool_call_id == call["id"] and stored[2].name == "todo"
    assert stored[3].content == "Done."
    assert all(m.prompt_tokens and m.completion_tokens for m in stored if m.role == "assistant")
    session = await rig.store.sessions.current(KEY)
    assert session is not None and session.message_count == 4
    assert session.prompt_tokens == events[-1].usage.prompt_tokens > 0
    assert session.completion_tokens == events[-1].usage.completion_tokens > 0


async def test_a_seed_opens_a_new_session_with_the_callers_history(make_rig: MakeRig) -> None:
    rig = await make_rig()
    seed = (ChatMessage("user", "Earlier question"), ChatMessage("assistant", "Earlier answer"))
    events = await rig.run("Now this", seed=seed, extra_system="Be brief.")
    assert isinstance(events[-1], Final) and events[-1].text == "Now this"
    request = rig.llm.chat_requests[-1]
    assert [m["role"] for m in request.messages] == ["system", "user", "assistant", "user"]
    assert "Be brief." in request.system
    stored = await rig.session_messages()
    assert [m.content for m in stored] == ["Earlier question", "Earlier answer", "Now this", "Now this"]
    # Once the session has a transcript, a seed is not added again.
    await rig.run("And this", seed=seed)
    assert [m.content for m in await rig.session_messages()][4:] == ["And this", "And this"]


async def test_without_a_store_a_run_answers_and_keeps_nothing(make_rig: MakeRig) -> None:
    rig = await make_rig(with_store=False)
    events = await rig.run("Only once")
    assert isinstance(events[-1], Final) and events[-1].text == "Only once"
    assert await rig.store.sessions.list_sessions() == []


async def test_a_new_session_from_the_hub_starts_from_scratch(make_rig: MakeRig) -> None:
    rig = await make_rig()
    await rig.run("first topic")
    await rig.store.sessions.end_current(KEY)
    await rig.run("second topic")
    assert "first topic" not in all_text(rig.llm.chat_requests[-1])
    assert len(await rig.store.sessions.list_sessions()) == 2


async def test_undo_from_the_hub_is_seen_on_the_next_turn(make_rig: MakeRig) -> None:
    rig = await make_rig()
    await rig.run("keep this")
    await rig.run("regret this")
    session = await rig.store.sessions.current(KEY)
    assert session is not None
    await rig.store.sessions.undo_last_turn(session.id)
    await rig.run("after undo")
    sent = all_text(rig.llm.chat_requests[-1])
    assert "keep this" in sent and "regret this" not in sent


async def test_model_override_from_the_request_or_the_session(make_rig: MakeRig) -> None:
    rig = await make_rig()
    events = await rig.run("hi", model_override="other-model")
    assert isinstance(events[-1], Final) and events[-1].model == "other-model"
    session = await rig.store.sessions.current(KEY)
    assert session is not None
    await rig.store.sessions.set_model_override(session.id, "session-model")
    await rig.run("again")
    assert rig.llm.chat_requests[-1].model == "session-model"


async def test_an_empty_reply_is_a_clear_failure(make_rig: MakeRig) -> None:
    rig = await make_rig()
    rig.llm.script(Text(""))
    events = await rig.run("say nothing")
    assert isinstance(events[-1], Failed) and "empty reply" in events[-1].message
    assert texts(events) == ""


def test_a_missing_key_or_url_is_a_clear_error_at_construction(tmp_path: Path) -> None:
    for provider, needs in [
        ("openai", "OPENAI_API_KEY"),
        ("anthropic", "ANTHROPIC_API_KEY"),
        ("custom", "base_url"),
    ]:
        config = load_config(environ={"HERMES_HOME": str(tmp_path), "HERMES_INFERENCE_PROVIDER": provider})
        with pytest.raises(ProviderConfigError, match=needs):
            LocalAgent(config, None)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_images_go_to_the_model_once_and_are_noted_afterwards(make_rig: MakeRig, provider: str) -> None:
    rig = await make_rig(provider)
    image = ImageInput("image/png", b"\x89PNG fake image bytes")
    await rig.run("What is in this picture?", images=(image,))
    first = rig.llm.chat_requests[-1].messages[-1]["content"]
    kinds = [part["type"] for part in first]
    assert kinds == (["text", "image_url"] if provider == "openai" else ["text", "image"])

    await rig.run("And now?")
    later = rig.llm.chat_requests[-1]
    assert "What is in this picture?\n[1 image(s) were attached]" in all_text(later)
    parts = [part for m in later.messages if isinstance(m.get("content"), list) for part in m["content"]]
    assert not [part for part in parts if part.get("type") in ("image", "image_url")]
    rig.agent.conversations.forget(KEY)
    await rig.run("After a reload?")
    assert "What is in this picture?\n[1 image(s) were attached]" in all_text(rig.llm.chat_requests[-1])
