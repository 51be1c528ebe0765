"""Whatever a client sends, it gets OpenAI's error envelope with the right status, the server keeps running
and stored sessions stay as they were."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import openai
import pytest

from tests.fakes.llm import Stall, Text

from .conftest import Server, auth

HEADER = "X-Hermes-Session-Id"
USER = [{"role": "user", "content": "hi"}]


def completions(server: Server) -> str:
    return f"{server.base_url}/chat/completions"


async def post_raw(
    http: aiohttp.ClientSession, server: Server, data: bytes, **headers: str
) -> tuple[int, dict[str, Any], aiohttp.typedefs.LooseHeaders]:
    async with http.post(
        completions(server), data=data, headers=auth(**{"Content-Type": "application/json", **headers})
    ) as response:
        return response.status, await response.json(), response.headers


def assert_envelope(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"error"}
    error = body["error"]
    assert {"message", "type", "param", "code"} <= set(error)
    assert isinstance(error["message"], str) and error["message"]
    return error


MALFORMED: list[tuple[str, bytes, str | None]] = [
    ("not json", b"{this is not json", None),
    ("truncated json", b'{"model": "hermes-agent", "messages": [', None),
    ("invalid utf-8", b'{"model": "hermes-agent", "messages": "\xff\xfe"}', None),
    ("empty body", b"", None),
    ("json array", b"[1, 2, 3]", None),
    ("json string", b'"hello"', None),
    ("deeply nested", b'{"model": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None),
]


@pytest.mark.parametrize(("case", "data", "param"), MALFORMED, ids=[c[0] for c in MALFORMED])
async def test_malformed_bodies_are_refused(
    server: Server, http: aiohttp.ClientSession, case: str, data: bytes, param: str | None
) -> None:
    status, body, _ = await post_raw(http, server, data)
    assert status == 400
    error = assert_envelope(body)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


def body_with(**fields: Any) -> dict[str, Any]:
    return {"model": "hermes-agent", "messages": USER, **fields}


def one_message(message: Any) -> dict[str, Any]:
    return {"model": "hermes-agent", "messages": [message]}


WRONG: list[tuple[str, Any, str]] = [
    ("missing messages", {"model": "hermes-agent"}, "messages"),
    ("messages not a list", body_with(messages="hi"), "messages"),
    ("no messages", body_with(messages=[]), "messages"),
    ("message not an object", body_with(messages=["hi"]), "messages[0]"),
    ("unknown role", one_message({"role": "wizard", "content": "hi"}), "messages[0].role"),
    ("role not a string", one_message({"role": 1, "content": "hi"}), "messages[0].role"),
    ("content a number", one_message({"role": "user", "content": 5}), "messages[0].content"),
    ("empty content", one_message({"role": "user", "content": ""}), "messages[0].content"),
    ("blank content", one_message({"role": "user", "content": "  \n "}), "messages[0].content"),
    ("null user content", one_message({"role": "user", "content": None}), "messages[0].content"),
    ("no content parts", one_message({"role": "user", "content": []}), "messages[0].content"),
    (
        "unknown part type",
        one_message({"role": "user", "content": [{"type": "audio", "data": "x"}]}),
        "messages[0].content[0].type",
    ),
    (
        "part text not a string",
        one_message({"role": "user", "content": [{"type": "text", "text": 3}]}),
        "messages[0].content[0].text",
    ),
    (
        "remote image url",
        one_message(
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/a.png"}}]}
        ),
        "messages[0].content[0].image_url.url",
    ),
    (
        "bad base64 image",
        one_message(
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}],
            }
        ),
        "messages[0].content[0].image_url.url",
    ),
    (
        "last message not from the user",
        body_with(messages=[*USER, {"role": "assistant", "content": "hello"}]),
        "messages[1]",
    ),
    (
        "tool result without call id",
        body_with(messages=[{"role": "tool", "content": "42"}, *USER]),
        "messages[0].tool_call_id",
    ),
    (
        "tool call without function",
        body_with(messages=[{"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]}, *USER]),
        "messages[0].tool_calls[0]",
    ),
    (
        "empty assistant message",
        body_with(messages=[{"role": "assistant", "content": ""}, *USER]),
        "messages[0].content",
    ),
    ("stream not a boolean", body_with(stream="yes"), "stream"),
    ("stream_options not an object", body_with(stream=True, stream_options=[1]), "stream_options"),
    (
        "include_usage not a boolean",
        body_with(stream=True, stream_options={"include_usage": "true"}),
        "stream_options",
    ),
]


@pytest.mark.parametrize(("case", "payload", "param"), WRONG, ids=[c[0] for c in WRONG])
async def test_wrong_fields_are_named(
    server: Server, http: aiohttp.ClientSession, case: str, payload: Any, param: str
) -> None:
    status, body, _ = await post_raw(http, server, json.dumps(payload).encode())
    assert status == 400
    error = assert_envelope(body)
    assert error["param"] == param
    assert server.llm.chat_requests == []


async def test_ignored_options_are_accepted(server: Server) -> None:
    server.llm.script(Text("fine"))
    completion = await server.client().chat.completions.create(
        model="hermes-agent",
        messages=USER,
        max_tokens=5,
        temperature=0.2,
        top_p=0.9,
        n=1,
        user="someone",
        tools=[{"type": "function", "function": {"name": "x", "parameters": {"type": "object"}}}],
    )
    assert completion.choices[0].message.content == "fine"


async def test_an_image_reaches_the_model(server: Server) -> None:
    server.llm.script(Text("A red dot."))
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    completion = await server.client().chat.completions.create(
        model="hermes-agent",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
                ],
            }
        ],
    )
    assert completion.choices[0].message.content == "A red dot."
    [request] = server.llm.chat_requests
    parts = request.messages[-1]["content"]
    assert any(p.get("type") == "image_url" for p in parts)


async def test_body_over_the_limit_is_413(start_server: Any, http: aiohttp.ClientSession) -> None:
    server: Server = await start_server(api_server={"max_body_bytes": 2048})
    big = json.dumps(body_with(messages=[{"role": "user", "content": "x" * 4000}])).encode()
    status, body, _ = await post_raw(http, server, big)
    assert status == 413
    assert assert_envelope(body)["code"] == "too_large"

    async def chunks() -> Any:
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    # Without a Content-Length the limit applies while reading.
    async with http.post(completions(server), data=chunks(), headers=auth()) as response:
        assert response.status == 413
        assert_envelope(await response.json())
    assert server.llm.chat_requests == []


async def test_unknown_route_is_404_and_wrong_method_405(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{server.url}/v1/embeddings", headers=auth()) as response:
        assert response.status == 404
        error = assert_envelope(await response.json())
        assert "GET /v1/embeddings" in error["message"]
    async with http.get(completions(server), headers=auth()) as response:
        assert response.status == 405
        assert_envelope(await response.json())
    # Without the key nothing is revealed, not even whether a route exists.
    async with http.get(f"{server.url}/v1/embeddings") as response:
        assert response.status == 401
        assert_envelope(await response.json())


async def test_too_many_runs_is_429_with_retry_after(start_server: Any, http: aiohttp.ClientSession) -> None:
    server: Server = await start_server(api_server={"max_concurrent_runs": 1})
    server.llm.script(Stall(seconds=30))
    busy = asyncio.create_task(server.client().chat.completions.create(model="hermes-agent", messages=USER))
    await server.llm.wait_for_requests(1)
    status, body, headers = await post_raw(http, server, json.dumps(body_with()).encode())
    assert status == 429
    assert assert_envelope(body)["code"] == "rate_limit_exceeded"
    assert headers["Retry-After"] == "1"
    with pytest.raises(openai.RateLimitError):
        await server.client().chat.completions.create(model="hermes-agent", messages=USER)
    busy.cancel()
    await asyncio.gather(busy, return_exceptions=True)
    await server.idle()
    server.llm.script(Text("free again"))
    completion = await server.client().chat.completions.create(model="hermes-agent", messages=USER)
    assert completion.choices[0].message.content == "free again"


async def test_bad_input_leaves_the_session_intact(server: Server, http: aiohttp.ClientSession) -> None:
    server.llm.script(Text("Noted: blue."), Text("Blue."))
    client = server.client()
    session = {HEADER: "keeper"}
    await client.chat.completions.create(
        model="hermes-agent", messages=[{"role": "user", "content": "I like blue."}], extra_headers=session
    )
    for data in (b"{oops", json.dumps(one_message({"role": "user", "content": ""})).encode(), b"[]"):
        status, _, _ = await post_raw(http, server, data, **session)
        assert status == 400
    completion = await client.chat.completions.create(
        model="hermes-agent",
        messages=[{"role": "user", "content": "Favourite colour?"}],
        extra_headers=session,
    )
    assert completion.choices[0].message.content == "Blue."
    stored = await server.store.sessions.current("api_server:session:keeper")
    assert stored is not None
    rows = await server.store.sessions.messages(stored.id)
    assert [r.content for r in rows] == ["I like blue.", "Noted: blue.", "Favourite colour?", "Blue."]
    async with http.get(f"{server.url}/health") as response:
        assert response.status == 200
