"""Memory files and session search, seen through runs of the agent."""

from __future__ import annotations

import os

from hermes.agent.contract import Final, ToolFinished
from hermes.agent.memory import USER_LIMIT, MemoryFiles
from tests.fakes.llm import Call, Text, ToolCalls
from tests.integration.agent.conftest import KEY, MakeRig, tool_results


async def test_an_external_edit_between_turns_is_in_the_next_prompt(make_rig: MakeRig) -> None:
    rig = await make_rig()
    await rig.run("hello")
    assert "Moved to Lisbon" not in rig.llm.chat_requests[-1].system
    user_file = rig.config.paths.memories / "USER.md"
    tmp = user_file.with_name(".USER.md.editor")
    tmp.write_text("Moved to Lisbon in 2024\n")
    os.replace(tmp, user_file)
    soul = rig.config.paths.soul_file
    soul.write_text("You are Marvin, a gloomy robot.")
    await rig.run("where do I live?")
    system = rig.llm.chat_requests[-1].system
    assert "Moved to Lisbon in 2024" in system and system.startswith("You are Marvin")


async def test_a_memory_write_past_the_limit_is_refused_and_the_model_told_the_room(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig()
    memory = MemoryFiles(rig.config.paths)
    await memory.add("user", "a" * 1000)
    rig.llm.script(
        ToolCalls([Call("memory", {"action": "add", "target": "user", "content": "b" * 500})]),
        Text("Too long, I will shorten it."),
    )
    events = await rig.run("remember all of this")
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    assert not finished.ok
    (result,) = tool_results(rig.llm.chat_requests[-1])
    assert f"{USER_LIMIT - 1001} chars of room left" in result
    assert await memory.entries("user") == ["a" * 1000]


async def test_memory_written_by_the_tool_reaches_the_prompt_of_the_next_message(make_rig: MakeRig) -> None:
    rig = await make_rig()
    note = {"action": "add", "target": "memory", "content": "Server is hermes-01"}
    rig.llm.script(ToolCalls([Call("memory", note)]))
    await rig.run("note the server name")
    # Within a run the prompt stays as it was (providers cache it); the next message sees the change.
    assert "Server is hermes-01" not in rig.llm.chat_requests[-1].system
    await rig.run("and now?")
    assert "Server is hermes-01" in rig.llm.chat_requests[-1].system
    assert (rig.config.paths.memories / "MEMORY.md").read_text() == "Server is hermes-01\n"


async def test_session_search_finds_past_sessions_of_this_chat_only(make_rig: MakeRig) -> None:
    rig = await make_rig()
    await rig.run("The launch code word is pineapple.")
    await rig.store.sessions.end_current(KEY)
    await rig.run("Someone else mentions pineapple too.", key="test:dm:other")
    rig.llm.script(ToolCalls([Call("session_search", {"query": "pineapple"})]), Text("Found it."))
    events = await rig.run("What was the code word?")
    assert isinstance(events[-1], Final)
    (result,) = tool_results(rig.llm.chat_requests[-1])
    assert "**pineapple**" in result and "launch code word" in result
    assert "Someone else" not in result


async def test_session_search_with_no_hits_says_so(make_rig: MakeRig) -> None:
    rig = await make_rig()
    rig.llm.script(ToolCalls([Call("session_search", {"query": 'zebra* OR "quoted'})]), Text("Nothing."))
    await rig.run("search something odd")
    (result,) = tool_results(rig.llm.chat_requests[-1])
    assert result.startswith("No past messages match")
