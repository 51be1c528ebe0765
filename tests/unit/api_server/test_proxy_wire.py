"""The proxy's side of the wire: the URL, the session id and the messages it sends to the remote server."""

from __future__ import annotations

import pytest

from hermes.agent.contract import ChatMessage, ImageInput, RunRequest
from hermes.gateway.proxy import completions_url, remote_session_id, to_messages
from hermes.platforms.api_server.session_headers import session_id_from


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://10.0.0.2:8642", "http://10.0.0.2:8642/v1/chat/completions"),
        ("http://10.0.0.2:8642/", "http://10.0.0.2:8642/v1/chat/completions"),
        ("http://host:8642/v1", "http://host:8642/v1/chat/completions"),
        ("https://host/hermes/", "https://host/hermes/v1/chat/completions"),
    ],
)
def test_completions_url(base: str, url: str) -> None:
    assert str(completions_url(base)) == url


@pytest.mark.parametrize(
    "key",
    [
        "test:dm:dm-@alice",
        "matrix:group:!abc:example.org:thread:$ev+/=:user:@bob:example.org",
        "mattermost:channel:4xp9fdt8mpgk8k:user:u1",
        "chat with spaces",
        "ünïcode:key",
        "x" * 300,
    ],
)
def test_every_local_session_key_becomes_an_id_the_server_accepts(key: str) -> None:
    sent = remote_session_id(key)
    assert session_id_from(sent) == sent
    assert remote_session_id(key) == sent


def test_distinct_unsafe_keys_stay_distinct() -> None:
    assert remote_session_id("a b") != remote_session_id("a  b")


def test_a_turn_is_one_user_message() -> None:
    request = RunRequest("k", "hello", "matrix", "dm")
    assert to_messages(request) == [{"role": "user", "content": "hello"}]


def test_images_and_extra_system_travel_along() -> None:
    request = RunRequest(
        "k", "look", "matrix", "dm", images=(ImageInput("image/png", b"\x89PNG"),), extra_system="be kind"
    )
    system, user = to_messages(request)
    assert system == {"role": "system", "content": "be kind"}
    assert user["content"][0] == {"type": "text", "text": "look"}
    assert user["content"][1]["image_url"]["url"] == "data:image/png;base64,iVBORw=="


def test_a_new_sessions_opening_history_is_sent_in_openai_shape() -> None:
    history = (
        ChatMessage("user", "add"),
        ChatMessage("assistant", None, tool_calls=({"id": "c1", "name": "calc", "arguments": "{}"},)),
        ChatMessage("tool", "4", tool_call_id="c1"),
    )
    messages = to_messages(RunRequest("k", "thanks", "api_server", "api", seed=history))
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "calc", "arguments": "{}"}}],
    }
    assert messages[2] == {"role": "tool", "content": "4", "tool_call_id": "c1"}
    assert messages[3] == {"role": "user", "content": "thanks"}


def test_an_empty_turn_is_still_a_valid_message() -> None:
    assert to_messages(RunRequest("k", "  ", "matrix", "dm")) == [
        {"role": "user", "content": "(empty message)"}
    ]
