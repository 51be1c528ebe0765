import pytest

from hermes.agent.messages import Message, ToolCall, close_dangling_calls, parse_arguments


def _call(call_id: str, name: str = "todo") -> ToolCall:
    return ToolCall(call_id, name, "{}")


def test_parse_arguments_accepts_objects_and_empty_text() -> None:
    assert parse_arguments('{"a": 1}') == {"a": 1}
    assert parse_arguments("  ") == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [('{"a": ', "not valid JSON"), ("[1, 2]", "must be a JSON object"), ('"text"', "must be a JSON object")],
)
def test_parse_arguments_explains_what_is_wrong(raw: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parse_arguments(raw)


def test_complete_transcript_is_returned_unchanged() -> None:
    messages = [
        Message("user", "hi"),
        Message("assistant", None, (_call("a"), _call("b"))),
        Message("tool", "ok", (), "b", "todo"),
        Message("tool", "ok", (), "a", "todo"),
        Message("assistant", "done"),
    ]
    assert close_dangling_calls(messages) is messages


def test_unanswered_calls_get_an_error_result_before_the_next_message() -> None:
    messages = [
        Message("user", "hi"),
        Message("assistant", None, (_call("a"), _call("b"))),
        Message("tool", "ok", (), "a", "todo"),
        Message("user", "again"),
    ]
    fixed = close_dangling_calls(messages)
    assert [(m.role, m.tool_call_id) for m in fixed] == [
        ("user", None),
        ("assistant", None),
        ("tool", "a"),
        ("tool", "b"),
        ("user", None),
    ]
    assert fixed[3].is_error and "interrupted" in (fixed[3].content or "")


def test_calls_at_the_very_end_are_answered_too() -> None:
    fixed = close_dangling_calls([Message("user", "hi"), Message("assistant", None, (_call("a"),))])
    assert fixed[-1].role == "tool" and fixed[-1].tool_call_id == "a"


def test_results_without_a_call_are_dropped() -> None:
    fixed = close_dangling_calls([Message("user", "hi"), Message("tool", "stray", (), "zzz", "todo")])
    assert [m.role for m in fixed] == ["user"]


def test_tool_call_json_round_trip_keeps_raw_arguments() -> None:
    call = ToolCall("id1", "memory", '{"action": "add"}')
    assert ToolCall.from_json(call.to_json()) == call
    assert ToolCall.from_json({"id": "x", "name": "n", "arguments": {"k": 1}}).arguments == '{"k": 1}'
