"""Parsing the chat completions body, and turning it into the agent's run request."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hermes.agent.contract import ChatMessage
from hermes.platforms.api_server.body import parse_chat_call
from hermes.platforms.api_server.chat import run_request
from hermes.platforms.api_server.errors import ApiError
from hermes.platforms.api_server.session_headers import SESSION_KEY_PREFIX, session_id_from


def parse(**fields: Any) -> Any:
    body = {"model": "hermes-agent", "messages": [{"role": "user", "content": "hi"}], **fields}
    return parse_chat_call(json.dumps(body).encode(), "hermes-agent")


def test_minimal_body() -> None:
    call = parse()
    assert call.model == "hermes-agent"
    assert call.messages == (ChatMessage("user", "hi"),)
    assert call.stream is False and call.include_usage is False


def test_stream_and_usage_flags() -> None:
    call = parse(stream=True, stream_options={"include_usage": True})
    assert call.stream and call.include_usage
    assert parse(stream=None, stream_options=None).stream is False


def test_developer_role_counts_as_system() -> None:
    call = parse(messages=[{"role": "developer", "content": "be brief"}, {"role": "user", "content": "hi"}])
    assert call.messages[0] == ChatMessage("system", "be brief")
    assert call.system_text == "be brief"


def test_text_parts_are_joined_and_images_decoded() -> None:
    data = base64.b64encode(b"\x89PNG fake").decode()
    call = parse(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "first"},
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{data}", "detail": "low"},
                    },
                    {"type": "text", "text": "second"},
                ],
            }
        ]
    )
    [message] = call.messages
    assert message.content == "first\nsecond"
    assert [(i.mime_type, i.data) for i in message.images] == [("image/png", b"\x89PNG fake")]


def test_image_only_user_message_is_accepted() -> None:
    data = base64.b64encode(b"img").decode()
    call = parse(
        messages=[
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": f"data:image/jpeg;base64,{data}"}],
            }
        ]
    )
    assert call.last.content is None and len(call.last.images) == 1


def test_images_only_from_users() -> None:
    data = base64.b64encode(b"img").decode()
    with pytest.raises(ApiError) as caught:
        parse(
            messages=[
                {
                    "role": "system",
                    "content": [{"type": "image_url", "image_url": f"data:image/png;base64,{data}"}],
                },
                {"role": "user", "content": "hi"},
            ]
        )
    assert caught.value.param == "messages[0].content[0]"


def test_tool_history_is_converted() -> None:
    call = parse(
        messages=[
            {"role": "user", "content": "add 2 and 2"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "calc", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "4"},
            {"role": "user", "content": "thanks"},
        ]
    )
    assistant, tool = call.messages[1], call.messages[2]
    assert assistant.tool_calls == ({"id": "c1", "name": "calc", "arguments": "{}"},)
    assert tool == ChatMessage("tool", "4", tool_call_id="c1")


@pytest.mark.parametrize(
    ("call", "param"),
    [
        ({"type": "function", "function": {"name": "x"}}, "messages[0].tool_calls[0].id"),
        ({"id": "c", "function": {"name": ""}}, "messages[0].tool_calls[0].function.name"),
        (
            {"id": "c", "function": {"name": "x", "arguments": {"a": 1}}},
            "messages[0].tool_calls[0].function.arguments",
        ),
    ],
)
def test_bad_tool_calls_are_named(call: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse(
            messages=[
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "user", "content": "hi"},
            ]
        )
    assert caught.value.status == 400 and caught.value.param == param


@pytest.mark.parametrize("model", ["hermes", "", 3, None, ["x"]])
def test_any_model_value_is_kept_to_be_echoed(model: Any) -> None:
    assert parse(model=model).model == model


def test_an_absent_model_is_the_advertised_name() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    assert parse_chat_call(json.dumps(body).encode(), "my-agent").model == "my-agent"


def test_error_body_is_openai_shaped() -> None:
    with pytest.raises(ApiError) as caught:
        parse(stream="yes")
    assert caught.value.body() == {
        "error": {
            "message": "`stream` must be true or false.",
            "type": "invalid_request_error",
            "param": "stream",
            "code": None,
        }
    }


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_any_json_is_parsed_or_refused_with_400(value: Any) -> None:
    for body in (
        value,
        {"model": "hermes-agent", "messages": value},
        {"model": "hermes-agent", "messages": [value]},
    ):
        try:
            parse_chat_call(json.dumps(body).encode(), "hermes-agent")
        except ApiError as error:
            assert error.status == 400


def test_run_request_seeds_a_new_session_with_the_history() -> None:
    call = parse(
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "1"},
            {"role": "user", "content": "two"},
        ]
    )
    run = run_request(call, "abc", None)
    assert run.session_key == SESSION_KEY_PREFIX + "abc"
    assert run.text == "two"
    assert run.seed == call.messages[1:3]
    # The exchange is stored at its end, as the session the response names.
    assert run.store_at_end and not run.new_session
    assert run.extra_system == "be brief"
    assert run.model_override is None
    assert (run.platform, run.chat_kind) == ("api_server", "api")
    assert run.origin is None


def test_run_request_carries_a_routed_model() -> None:
    assert run_request(parse(), "s1", "other/model").model_override == "other/model"


def test_session_ids() -> None:
    assert session_id_from(None) is None
    assert session_id_from("matrix:group:!room:example.org:user:@bob:example.org") is not None
    for bad in ("", "x" * 257, "a b", "a\tb", "ümlaut", "a;b", "a,b"):
        with pytest.raises(ApiError):
            session_id_from(bad)
