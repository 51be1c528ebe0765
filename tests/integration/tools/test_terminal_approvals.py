"""The terminal's approval question in a real chat: the bot posts the exact command and waits for the
requester's yes or no, through the hub."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from hermes.agent.contract import Final, RunRequest
from tests.fakes.llm import Call, FakeLLM, Text, ToolCalls
from tests.integration.agent.conftest import tool_results
from tests.integration.tools.conftest import HubRig

MakeHub = Callable[..., Awaitable[HubRig]]
COMMAND = "echo ran > marker.txt && cat marker.txt"


def terminal_config(**terminal: object) -> dict[str, object]:
    return {"tools": {"terminal": {"enabled": True, **terminal}}}


async def ask_to_run(rig: HubRig, llm: FakeLLM) -> None:
    llm.script(ToolCalls([Call("terminal", {"command": COMMAND})]), Text("Done."))
    await rig.platform.push("please run it", user="@alice")
    await rig.platform.wait_for(lambda: any("Reply **yes**" in m.text for m in rig.platform.messages))
    [question] = rig.platform.messages
    assert f"```\n{COMMAND}\n```" in question.text and question.chat.chat_id == "dm-@alice"


async def test_yes_runs_the_command(make_hub: MakeHub, llm: FakeLLM) -> None:
    rig = await make_hub(terminal_config())
    await ask_to_run(rig, llm)
    await rig.platform.push("yes", user="@alice")
    await rig.platform.wait_for(lambda: any(m.text == "Done." for m in rig.platform.messages))
    await rig.settled()
    assert (rig.config.paths.workspace / "marker.txt").read_text() == "ran\n"
    assert tool_results(llm.chat_requests[-1]) == ["ran\n[exit code 0]"]


async def test_no_refuses_and_someone_elses_yes_does_not_count(make_hub: MakeHub, llm: FakeLLM) -> None:
    rig = await make_hub(terminal_config())
    await ask_to_run(rig, llm)
    # Someone else's yes in the same chat answers nothing; the requester's no does.
    await rig.platform.push("yes", user="@mallory", chat="dm-@alice", kind="group", addressed=False)
    await rig.platform.push("no", user="@alice")
    await rig.platform.wait_for(lambda: any(m.text == "Done." for m in rig.platform.messages))
    await rig.settled()
    assert not (rig.config.paths.workspace / "marker.txt").exists()
    [result] = tool_results(llm.chat_requests[-1])
    assert "did not approve" in result and "did not run" in result


async def test_no_answer_in_time_refuses(make_hub: MakeHub, llm: FakeLLM) -> None:
    rig = await make_hub(terminal_config(approval_timeout_seconds=0.3))
    await ask_to_run(rig, llm)
    await rig.platform.wait_for(lambda: any(m.text == "Done." for m in rig.platform.messages))
    await rig.settled()
    assert not (rig.config.paths.workspace / "marker.txt").exists()
    [result] = tool_results(llm.chat_requests[-1])
    assert "no answer within 0.3 s" in result


async def test_allowlisted_commands_need_no_question(make_hub: MakeHub, llm: FakeLLM) -> None:
    rig = await make_hub(terminal_config(allow=["echo *"]))
    llm.script(ToolCalls([Call("terminal", {"command": "echo hello"})]), Text("Said hello."))
    await rig.platform.push("greet", user="@alice")
    await rig.platform.wait_for(lambda: any(m.text == "Said hello." for m in rig.platform.messages))
    await rig.settled()
    assert [m.text for m in rig.platform.messages] == ["Said hello."]
    assert tool_results(llm.chat_requests[-1]) == ["hello\n[exit code 0]"]


async def test_disabled_terminal_is_not_offered(make_hub: MakeHub, llm: FakeLLM) -> None:
    rig = await make_hub()
    await rig.platform.push("hi", user="@alice")
    await rig.platform.wait_for_messages(1)
    await rig.settled()
    assert "terminal" not in llm.chat_requests[-1].tool_names
    assert {"read_file", "write_file", "web_extract", "cronjob", "skill_manage"} <= set(
        llm.chat_requests[-1].tool_names
    )


async def test_request_driven_runs_refuse_unlisted_commands(make_hub: MakeHub, llm: FakeLLM) -> None:
    # What the API server does: a run through Hub.run_request, with no chat to ask in.
    rig = await make_hub(terminal_config())
    llm.script(ToolCalls([Call("terminal", {"command": COMMAND})]), Text("Could not."))
    request = RunRequest(session_key="api:s1", text="run it", platform="test", chat_kind="api")
    events = [event async for event in rig.hub.run_request(request, asyncio.Event())]
    assert isinstance(events[-1], Final)
    [result] = tool_results(llm.chat_requests[-1])
    assert "nobody to ask" in result
    assert not (rig.config.paths.workspace / "marker.txt").exists()
    assert rig.platform.messages == []


async def test_one_yes_answers_only_the_question_on_screen(make_hub: MakeHub, llm: FakeLLM) -> None:
    # The attack: two commands in one turn; the user approves the benign one they see. Before questions had
    # ids, the second question replaced the first and that single yes ran the other command.
    rig = await make_hub(terminal_config(approval_timeout_seconds=10))
    llm.script(
        ToolCalls(
            [
                Call("terminal", {"command": "echo BENIGN > a.txt"}),
                Call("terminal", {"command": "echo EVIL > b.txt"}),
            ]
        ),
        Text("Done."),
    )
    await rig.platform.push("tidy up", user="@alice")
    await rig.platform.wait_for(lambda: any("Reply **yes**" in m.text for m in rig.platform.messages))
    await asyncio.sleep(0.2)  # the second call had time to ask too: it must wait its turn
    [question] = rig.platform.messages
    await rig.platform.push("yes", user="@alice")
    await rig.platform.wait_for(lambda: len(rig.platform.messages) == 2)
    second = rig.platform.messages[-1]
    assert "Reply **yes**" in second.text and second.text != question.text
    await rig.platform.push("no", user="@alice")
    await rig.platform.wait_for(lambda: any(m.text == "Done." for m in rig.platform.messages))
    await rig.settled()
    approved, refused = ("a.txt", "b.txt") if "BENIGN" in question.text else ("b.txt", "a.txt")
    assert (rig.config.paths.workspace / approved).exists()
    assert not (rig.config.paths.workspace / refused).exists()


async def test_a_reaction_counts_only_on_its_question(make_hub: MakeHub, llm: FakeLLM) -> None:
    rig = await make_hub(terminal_config(approval_timeout_seconds=1))
    await rig.platform.push("/whoami", user="@alice")
    await rig.platform.wait_for_messages(1)
    [old_reply] = rig.platform.messages
    llm.script(ToolCalls([Call("terminal", {"command": COMMAND})]), Text("Done."))
    await rig.platform.push("please run it", user="@alice")
    await rig.platform.wait_for(lambda: any("Reply **yes**" in m.text for m in rig.platform.messages))
    # ✅ on an older bot message is not an answer, nor is a "yes" naming another question.
    await rig.platform.push("✅", user="@alice", addressed=False, reaction_to=old_reply.message_id)
    await rig.platform.push("yes 000000", user="@alice", addressed=False)
    await rig.platform.wait_for(lambda: any(m.text == "Done." for m in rig.platform.messages), timeout=8)
    await rig.settled()
    assert not (rig.config.paths.workspace / "marker.txt").exists()
    assert "did not approve" in tool_results(llm.chat_requests[-1])[0]
    # The same reaction on the question itself approves it.
    llm.script(ToolCalls([Call("terminal", {"command": COMMAND})]), Text("Done again."))
    await rig.platform.push("please run it", user="@alice")
    await rig.platform.wait_for(lambda: sum("Reply **yes**" in m.text for m in rig.platform.messages) == 2)
    second = [m for m in rig.platform.messages if "Reply **yes**" in m.text][-1]
    await rig.platform.push("✅", user="@alice", addressed=False, reaction_to=second.message_id)
    await rig.platform.wait_for(lambda: any(m.text == "Done again." for m in rig.platform.messages))
    await rig.settled()
    assert (rig.config.paths.workspace / "marker.txt").read_text() == "ran\n"


async def test_the_question_shows_the_exact_command(make_hub: MakeHub, llm: FakeLLM) -> None:
    # A fence in the command cannot close the block early, and invisible characters are spelled out.
    sneaky = "echo safe\n```\nthat was all\n```\nrm -rf ~/x\u202e"
    rig = await make_hub(terminal_config(approval_timeout_seconds=0.3))
    llm.script(ToolCalls([Call("terminal", {"command": sneaky})]), Text("Done."))
    await rig.platform.push("go", user="@alice")
    await rig.platform.wait_for(lambda: any(m.text == "Done." for m in rig.platform.messages))
    await rig.settled()
    [question] = [m.text for m in rig.platform.messages if "Reply **yes**" in m.text]
    assert "````\necho safe\n```\nthat was all\n```\nrm -rf ~/x\\u{202e}\n````" in question
    assert "5 lines" in question


async def test_a_command_too_long_to_show_is_refused_unasked(make_hub: MakeHub, llm: FakeLLM) -> None:
    rig = await make_hub(terminal_config())
    llm.script(ToolCalls([Call("terminal", {"command": "echo " + "x" * 3000})]), Text("Done."))
    await rig.platform.push("go", user="@alice")
    await rig.platform.wait_for(lambda: any(m.text == "Done." for m in rig.platform.messages))
    await rig.settled()
    assert [m.text for m in rig.platform.messages] == ["Done."]
    assert "sees all of it" in tool_results(llm.chat_requests[-1])[0]


async def test_a_question_is_answered_by_its_id(make_hub: MakeHub, llm: FakeLLM) -> None:
    # What the API uses: no chat message, the question's id.
    rig = await make_hub(terminal_config())
    llm.script(ToolCalls([Call("terminal", {"command": COMMAND})]), Text("Done."))
    await rig.platform.push("please run it", user="@alice")
    await rig.platform.wait_for(lambda: bool(rig.hub.approvals.pending()))
    [question_id] = rig.hub.approvals.pending()
    assert f"`{question_id}`" in rig.platform.messages[-1].text
    assert rig.hub.approvals.resolve("nope", True) is False
    assert rig.hub.approvals.resolve(question_id, True) is True
    await rig.platform.wait_for(lambda: any(m.text == "Done." for m in rig.platform.messages))
    await rig.settled()
    assert (rig.config.paths.workspace / "marker.txt").read_text() == "ran\n"
