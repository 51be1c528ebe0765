"""The self-improving loop and the workspace, through real runs: a skill the model writes is in the next
turn's prompt; files the model writes land in the workspace and nowhere else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hermes.agent.contract import ToolFinished
from tests.fakes.llm import Call, FakeLLM, Text, ToolCalls
from tests.integration.agent.conftest import tool_results
from tests.integration.tools.conftest import AgentRig

MakeAgent = Callable[..., Awaitable[AgentRig]]
SKILL = "---\nname: brew-tea\ndescription: How to brew green tea properly.\n---\n\n1. Water at 80 °C.\n"


async def test_a_new_skill_is_in_the_next_turns_prompt(make_agent: MakeAgent, llm: FakeLLM) -> None:
    rig = await make_agent()
    llm.script(
        ToolCalls(
            [
                Call(
                    "skill_manage",
                    {"action": "create", "name": "brew-tea", "category": "kitchen", "content": SKILL},
                )
            ]
        ),
        Text("Saved how to brew tea."),
    )
    await rig.run("remember how to brew tea")
    assert "brew-tea" not in llm.chat_requests[0].system
    await rig.run("make tea")
    assert "- kitchen/brew-tea: How to brew green tea properly." in llm.chat_requests[-1].system

    improved = SKILL.replace("80 °C", "75 °C")
    llm.script(
        ToolCalls(
            [
                Call(
                    "skill_manage",
                    {"action": "patch", "name": "brew-tea", "old_text": "80 °C", "new_text": "75 °C"},
                )
            ]
        ),
        ToolCalls([Call("skill_view", {"name": "brew-tea"})]),
        Text("Updated."),
    )
    await rig.run("80 was too hot")
    assert tool_results(llm.chat_requests[-1])[-1] == improved
    assert (rig.config.paths.skills / "kitchen" / "brew-tea" / "SKILL.md").read_text() == improved


async def test_a_refused_skill_tells_the_model_why(make_agent: MakeAgent, llm: FakeLLM) -> None:
    rig = await make_agent()
    llm.script(
        ToolCalls([Call("skill_manage", {"action": "create", "name": "Bad Name!", "content": SKILL})]),
        Text("Oops."),
    )
    events = await rig.run("save it")
    [finished] = [e for e in events if isinstance(e, ToolFinished)]
    assert not finished.ok
    [result] = tool_results(llm.chat_requests[-1])
    assert result.startswith("Error: name 'Bad Name!' must be lower case letters")
    assert not rig.config.paths.skills.exists() or not any(rig.config.paths.skills.rglob("SKILL.md"))


async def test_files_written_by_the_model_stay_in_the_workspace(make_agent: MakeAgent, llm: FakeLLM) -> None:
    rig = await make_agent()
    llm.script(
        ToolCalls(
            [
                Call("write_file", {"path": "plan.md", "content": "# Plan\n- step one\n"}),
                Call("write_file", {"path": "../config.yaml", "content": "pwned: true\n"}),
            ]
        ),
        ToolCalls([Call("patch", {"path": "plan.md", "old_text": "one", "new_text": "1"})]),
        ToolCalls([Call("read_file", {"path": "plan.md"})]),
        Text("Plan written."),
    )
    config_before = (rig.config.paths.home / "config.yaml").read_text()
    await rig.run("write a plan")
    results = tool_results(llm.chat_requests[-1])
    assert results[0] == "Created plan.md (18 chars)."
    assert results[1].startswith("Error: path '../config.yaml' is outside the workspace")
    assert results[-1] == "plan.md (lines 1-2 of 2)\n     1|# Plan\n     2|- step 1"
    assert (rig.workspace / "plan.md").read_text() == "# Plan\n- step 1\n"
    assert (rig.config.paths.home / "config.yaml").read_text() == config_before
