import time
from email.utils import formatdate

import pytest

from hermes.agent.contract import ImageInput
from hermes.agent.messages import Message, SystemPrompt, ToolCall
from hermes.agent.providers.anthropic import to_anthropic_messages, to_anthropic_system
from hermes.agent.providers.base import error_detail, parse_retry_after, redact
from hermes.agent.providers.openai_compat import to_openai_messages, with_v1
from hermes.agent.providers.retry import RetryPolicy


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434/v1"),
        ("http://127.0.0.1:11434/", "http://127.0.0.1:11434/v1"),
        ("http://host:8000/v1", "http://host:8000/v1"),
        ("http://host:8000/v1/", "http://host:8000/v1"),
        ("https://proxy.example/litellm", "https://proxy.example/litellm/v1"),
    ],
)
def test_custom_base_url_gets_v1_when_missing(given: str, expected: str) -> None:
    assert with_v1(given) == expected


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    in_three = parse_retry_after({"retry-after": formatdate(time.time() + 3, usegmt=True)})
    assert in_three is not None and 1.5 <= in_three <= 3.0


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    for retry, (low, high) in enumerate([(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (2.5, 5.0), (2.5, 5.0)]):
        delays = {policy.backoff(retry) for _ in range(50)}
        assert all(low <= d <= high for d in delays)
        assert len(delays) > 1


def test_error_text_comes_from_either_envelope_and_keys_are_removed() -> None:
    assert error_detail({"message": "m1", "type": "x"}, "fallback") == "m1"
    assert error_detail({"type": "error", "error": {"type": "x", "message": "m2"}}, "fallback") == "m2"
    assert error_detail("plain text body", "fallback") == "plain text body"
    assert error_detail(None, "fallback") == "fallback"
    assert redact("key sk-abc123 leaked", ["sk-abc123", None, ""]) == "key [redacted] leaked"


def conversation() -> list[Message]:
    call = ToolCall("call:1", "todo", '{"todos": []}')
    return [
        Message("assistant", "Hello, I am here."),
        Message("user", "look", images=(ImageInput("image/png", b"\x89PNG"),)),
        Message("assistant", "Checking.", (call, ToolCall("call_2", "memory", "{}"))),
        Message("tool", "empty", (), "call:1", "todo"),
        Message("tool", "boom", (), "call_2", "memory", True),
        Message("user", "thanks"),
        Message("assistant", None),
    ]


def test_anthropic_turns_alternate_and_carry_tool_blocks() -> None:
    out = to_anthropic_messages(conversation())
    assert [m["role"] for m in out] == ["user", "assistant", "user", "assistant", "user"]
    assert out[0]["content"][0]["text"] == "(conversation continues)"
    image = out[2]["content"][1]
    assert image["type"] == "image" and image["source"]["media_type"] == "image/png"
    uses = [b for b in out[3]["content"] if b["type"] == "tool_use"]
    assert [(u["id"], u["input"]) for u in uses] == [("call_1", {"todos": []}), ("call_2", {})]
    results = out[4]["content"]
    assert [r.get("tool_use_id") for r in results[:2]] == ["call_1", "call_2"]
    assert results[1]["is_error"] is True and "is_error" not in results[0]
    assert results[2] == {"type": "text", "text": "thanks", "cache_control": {"type": "ephemeral"}}
    assert sum("cache_control" in b for m in out for b in m["content"]) == 1


def test_anthropic_past_tool_calls_become_text_when_no_tools_are_offered() -> None:
    out = to_anthropic_messages(conversation(), tool_blocks=False)
    blocks = [b for m in out for b in m["content"]]
    assert {b["type"] for b in blocks} == {"text", "image"}
    texts = [b["text"] for b in blocks if b["type"] == "text"]
    assert '[called todo with {"todos": []}]' in texts and "[memory returned: boom]" in texts


def test_anthropic_system_caches_only_the_stable_part() -> None:
    blocks = to_anthropic_system(SystemPrompt("stable", "volatile"))
    assert blocks == [
        {"type": "text", "text": "stable", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "volatile"},
    ]
    assert len(to_anthropic_system(SystemPrompt("only"))) == 1


def test_openai_messages_keep_roles_and_tool_calls() -> None:
    out = to_openai_messages(SystemPrompt("s", "v"), conversation())
    assert out[0] == {"role": "system", "content": "s\n\nv"}
    assert out[2]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert out[3]["tool_calls"][0] == {
        "id": "call:1",
        "type": "function",
        "function": {"name": "todo", "arguments": '{"todos": []}'},
    }
    assert out[4] == {"role": "tool", "tool_call_id": "call:1", "content": "empty"}
    assert out[-1] == {"role": "assistant", "content": ""}
