"""Context compression against the fake: the middle is summarised, tool pairs stay whole, the originals stay
searchable."""

from __future__ import annotations

from hermes.agent.contract import Final
from hermes.agent.sessions import SUMMARY_HEADER
from tests.fakes.llm import Call, Error, RecordedRequest, Text, ToolCalls
from tests.integration.agent.conftest import KEY, MakeRig, all_text

SMALL_CONTEXT = {
    "model": {"context_length": 2048},
    "compression": {"threshold": 0.75, "keep_first": 2, "keep_last": 2},
}


def is_summary_request(request: RecordedRequest) -> bool:
    return request.system.startswith("You compress conversations")


def scripted_model(request: RecordedRequest):
    """Summaries for compression requests; otherwise a tool call, then an answer once the result is in."""
    if is_summary_request(request):
        return Text(f"SUMMARY of {all_text(request).count('USER: ')} user messages")
    if request.messages[-1].get("role") == "tool":
        return Text("reply " + "x" * 300)
    return ToolCalls([Call("todo", {"todos": [{"id": "1", "content": "step", "status": "pending"}]})])


def turn_text(i: int) -> str:
    return f"turn{i} " + f"word{i} " * 40


async def test_long_sessions_are_summarised_keeping_the_ends_and_tool_pairs(make_rig: MakeRig) -> None:
    rig = await make_rig(config=SMALL_CONTEXT)
    rig.llm.fallback = scripted_model
    for i in range(8):
        events = await rig.run(turn_text(i))
        # The fake refuses (400) any request whose tool calls and results do not pair up.
        assert isinstance(events[-1], Final), events[-1]

    summaries = [r for r in rig.llm.chat_requests if is_summary_request(r)]
    assert summaries, "no compression happened"
    assert "CONVERSATION TO SUMMARISE" in all_text(summaries[0])
    session = await rig.store.sessions.current(KEY)
    assert session is not None and session.summary is not None
    assert session.summary.startswith("SUMMARY of")
    assert session.summary_upto_message_id is not None

    last = rig.llm.chat_requests[-1]
    sent = all_text(last)
    assert SUMMARY_HEADER.strip() in sent
    assert "turn0" in sent and "turn7" in sent
    assert "turn3" not in sent
    # Keep-first 2 lands on the first tool call, so its result is kept with it.
    assert [m["role"] for m in last.messages[1:5]] == ["user", "assistant", "tool", "user"]

    # Every original message is still in state.db and found by search.
    stored = await rig.store.sessions.messages(session.id)
    assert len(stored) == session.message_count == 8 * 4
    hits = await rig.store.sessions.search("word3")
    assert hits and all(h.session_id == session.id for h in hits)


async def test_a_reloaded_session_rebuilds_the_same_compressed_context(make_rig: MakeRig) -> None:
    rig = await make_rig(config=SMALL_CONTEXT)
    rig.llm.fallback = scripted_model
    for i in range(8):
        await rig.run(turn_text(i))
    rig.agent.conversations.forget(KEY)
    before = len(rig.llm.chat_requests)
    await rig.run("after reload")
    new = [r for r in rig.llm.chat_requests[before:] if not is_summary_request(r)]
    sent = all_text(new[0])
    assert SUMMARY_HEADER.strip() in sent and "turn0" in sent and "turn3" not in sent
    assert "after reload" in sent


async def test_a_failed_summary_leaves_the_session_uncompressed_and_working(make_rig: MakeRig) -> None:
    rig = await make_rig(config=SMALL_CONTEXT)

    def failing_summaries(request: RecordedRequest):
        if is_summary_request(request):
            return Error(400, message="summaries are broken today")
        return scripted_model(request)

    rig.llm.fallback = failing_summaries
    for i in range(8):
        events = await rig.run(turn_text(i))
        assert isinstance(events[-1], Final)
    session = await rig.store.sessions.current(KEY)
    assert session is not None and session.summary is None
    assert "turn3" in all_text(rig.llm.chat_requests[-1])
