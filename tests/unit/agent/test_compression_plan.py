from hypothesis import given
from hypothesis import strategies as st

from hermes.agent.compression import render_for_summary, tail_start
from hermes.agent.messages import Message, ToolCall
from hermes.agent.sessions import head_boundary


def transcript(shape: list[int]) -> list[Message]:
    """Each number is one exchange: 0 is a plain user/assistant pair, n > 0 adds a call to n tools and their
    results."""
    messages: list[Message] = []
    for i, calls in enumerate(shape):
        messages.append(Message("user", f"question {i}"))
        if calls:
            ids = [f"c{i}_{j}" for j in range(calls)]
            messages.append(Message("assistant", None, tuple(ToolCall(c, "todo", "{}") for c in ids)))
            messages.extend(Message("tool", "ok", (), c, "todo") for c in ids)
        messages.append(Message("assistant", f"answer {i}"))
    return messages


def pairs_intact(messages: list[Message]) -> bool:
    open_calls: set[str] = set()
    for m in messages:
        if m.role == "tool":
            if m.tool_call_id not in open_calls:
                return False
            open_calls.discard(m.tool_call_id)
        else:
            if open_calls:
                return False
            open_calls = {c.id for c in m.tool_calls}
    return not open_calls


@given(
    shape=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=40),
    keep_first=st.integers(min_value=0, max_value=6),
    keep_last=st.integers(min_value=1, max_value=25),
)
def test_cut_points_never_separate_a_tool_call_from_its_results(shape, keep_first, keep_last) -> None:
    messages = transcript(shape)
    head = head_boundary(messages, keep_first)
    assert head >= min(keep_first, len(messages))
    assert pairs_intact(messages[:head])
    start = tail_start(messages, head, keep_last)
    if start is None:
        return
    assert start - head >= 2
    assert len(messages) - start >= min(keep_last, len(messages) - head - 2)
    kept = messages[:head] + messages[start:]
    assert pairs_intact(kept)
    assert pairs_intact(messages[head:start])


def test_too_short_a_middle_is_not_summarised() -> None:
    messages = transcript([0, 0, 0])
    assert tail_start(messages, 3, 2) is None
    assert tail_start(messages, 1, 2) == 4


def test_summary_input_lists_roles_calls_and_cut_results() -> None:
    messages = [
        Message("user", "find it"),
        Message("assistant", "Looking.", (ToolCall("a", "session_search", '{"query": "it"}'),)),
        Message("tool", "x" * 5000, (), "a", "session_search"),
    ]
    text = render_for_summary("before: user likes tea", messages, 100_000)
    assert text.startswith("EARLIER SUMMARY:\nbefore: user likes tea")
    assert "USER: find it" in text and 'ASSISTANT CALLED session_search({"query": "it"})' in text
    assert "TOOL RESULT (session_search): " + "x" * 1500 + "…" in text
    short = render_for_summary(None, messages, 200)
    assert "the start is omitted" in short and len(short) < 300
