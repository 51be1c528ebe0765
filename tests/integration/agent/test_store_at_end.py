"""Runs that store at their end (API requests): the whole exchange in one transaction when the run ends,
the session opened with it when the caller made the key up; what a cancelled run showed is still kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hermes.agent.contract import Failed, Final
from hermes.store import Store
from tests.fakes.llm import Call, Text, ToolCalls
from tests.integration.agent.conftest import MakeRig
from tests.integration.agent.test_loop import WaitingTool

NEW_KEY = "api_server:session:made-up"


async def transactions_during(store: Store, work: asyncio.Future[object]) -> int:
    """How many write transactions the store ran while `work` ran."""
    counted = 0
    real = store.db.transaction

    async def counting(fn: Callable[[Any], Any]) -> Any:
        nonlocal counted
        counted += 1
        return await real(fn)

    store.db.transaction = counting  # type: ignore[method-assign]
    try:
        await work
    finally:
        store.db.transaction = real  # type: ignore[method-assign]
    return counted


async def test_a_new_exchange_with_tool_calls_is_stored_in_one_transaction_at_the_end(
    make_rig: MakeRig,
) -> None:
    tool = WaitingTool("wait")
    rig = await make_rig(tools={"wait": tool})
    rig.llm.script(ToolCalls([Call("wait")]), Text("All done."))
    run = asyncio.ensure_future(rig.run("go", key=NEW_KEY, store_at_end=True, new_session=True, origin=None))
    counting = asyncio.ensure_future(transactions_during(rig.store, run))
    await asyncio.wait_for(tool.started.wait(), 5)
    # Mid-run nothing is stored yet, not even the session.
    assert await rig.store.sessions.current(NEW_KEY) is None
    tool.release.set()
    assert await counting == 1
    events = run.result()
    assert isinstance(events[-1], Final) and events[-1].text == "All done."
    stored = await rig.session_messages(NEW_KEY)
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant"]
    session = await rig.store.sessions.current(NEW_KEY)
    assert session is not None and session.message_count == 4 and session.platform == "test"
    assert session.prompt_tokens == events[-1].usage.prompt_tokens > 0


async def test_the_next_run_continues_the_session_it_stored(make_rig: MakeRig) -> None:
    rig = await make_rig()
    rig.llm.script(Text("First answer."), Text("Second answer."))
    await rig.run("first", key=NEW_KEY, store_at_end=True, new_session=True, origin=None)
    await rig.run("second", key=NEW_KEY, store_at_end=True, origin=None)
    stored = await rig.session_messages(NEW_KEY)
    assert [m.content for m in stored] == ["first", "First answer.", "second", "Second answer."]
    assert len(await rig.store.sessions.list_sessions()) == 1
    # The conversation kept in memory carries the stored ids, as one loaded from the store would.
    conversation = rig.agent.conversation(NEW_KEY)
    assert conversation is not None
    assert [m.id for m in conversation.messages] == [m.id for m in stored]


async def test_a_cancelled_run_keeps_what_it_showed(make_rig: MakeRig) -> None:
    tool = WaitingTool("wait")
    rig = await make_rig(tools={"wait": tool})
    rig.llm.script(ToolCalls([Call("wait")], text="Working on it."))
    cancel = asyncio.Event()
    run = asyncio.ensure_future(
        rig.run("go", cancel=cancel, key=NEW_KEY, store_at_end=True, new_session=True, origin=None)
    )
    await asyncio.wait_for(tool.started.wait(), 5)
    cancel.set()
    events = await run
    assert isinstance(events[-1], Failed) and events[-1].cancelled
    stored = await rig.session_messages(NEW_KEY)
    assert [m.role for m in stored] == ["user", "assistant", "tool"]
    assert stored[1].content == "Working on it." and "cancelled" in stored[2].content


async def test_when_the_store_refuses_the_exchange_the_caller_is_told_and_nothing_half_is_kept(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig()
    rig.llm.script(Text("An answer."), Text("Another answer."))
    # Another writer took the key's open session in the meantime: the opening collides with it.
    await rig.store.sessions.get_or_create(NEW_KEY, platform="test", chat_id="elsewhere")
    events = await rig.run("hello", key=NEW_KEY, store_at_end=True, new_session=True, origin=None)
    assert isinstance(events[-1], Failed) and "could not run" in events[-1].message
    assert await rig.session_messages(NEW_KEY) == []
    # The conversation that failed to store is forgotten: the next run reads the store again.
    assert rig.agent.conversation(NEW_KEY) is None
    events = await rig.run("again", key=NEW_KEY, store_at_end=True, origin=None)
    assert isinstance(events[-1], Final)
    assert [m.content for m in await rig.session_messages(NEW_KEY)] == ["again", "Another answer."]
