"""The API server as the official `openai` client sees it: sync and async, JSON and streaming, errors as the
client's own typed exceptions."""

from __future__ import annotations

import asyncio

import openai
import pytest

from tests.fakes.llm import Call as FakeCall
from tests.fakes.llm import Cut, Error, Text, ToolCalls

from .conftest import KEY, Server

USER = [{"role": "user", "content": "hello there"}]


async def test_async_json_completion(server: Server) -> None:
    server.llm.script(Text("General Kenobi."))
    raw = await server.client().chat.completions.with_raw_response.create(model="hermes-agent", messages=USER)
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.model == "hermes-agent"
    assert completion.id.startswith("chatcmpl-")
    [choice] = completion.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == "General Kenobi."
    assert choice.finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert raw.headers["x-hermes-session-id"]


async def test_async_streaming_completion(server: Server) -> None:
    server.llm.script(Text("one two three four"))
    stream = await server.client().chat.completions.create(
        model="hermes-agent", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert len({c.id for c in chunks}) == 1
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    *_, last = chunks
    assert last.choices == []
    assert last.usage is not None and last.usage.completion_tokens > 0


async def test_stream_without_usage_has_no_usage_chunk(server: Server) -> None:
    server.llm.script(Text("short answer"))
    stream = await server.client().chat.completions.create(model="hermes-agent", messages=USER, stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(c.choices for c in chunks)
    # Only the finish chunk counts the tokens (the third-party client needs it there).
    assert [c.usage is not None for c in chunks][-1] is True
    assert all(c.usage is None for c in chunks[:-1])


async def test_sync_client_json_and_stream(server: Server) -> None:
    server.llm.script(Text("sync reply"), Text("sync stream reply"))

    def use_sync_client() -> tuple[str | None, str]:
        with server.sync_client() as client:
            completion = client.chat.completions.create(model="hermes-agent", messages=USER)
            stream = client.chat.completions.create(model="hermes-agent", messages=USER, stream=True)
            streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            return completion.choices[0].message.content, streamed

    assert await asyncio.to_thread(use_sync_client) == ("sync reply", "sync stream reply")


async def test_sync_client_errors_are_typed(server: Server) -> None:
    def call_with_wrong_key() -> None:
        with server.sync_client(api_key="wrong-key-0123456789abcdef") as client:
            client.models.list()

    with pytest.raises(openai.AuthenticationError):
        await asyncio.to_thread(call_with_wrong_key)


async def test_models_lists_the_advertised_name_aliases_and_routes(start_server) -> None:
    server: Server = await start_server(
        api_server={"model_aliases": ["gpt-4o"], "model_routes": {"fast": {"model": "vendor/small"}}}
    )
    client = server.client()
    models = await client.models.list()
    assert [m.id for m in models.data] == ["hermes-agent", "gpt-4o", "fast"]
    fast = await client.models.retrieve("fast")
    assert fast.model_extra == {"permission": [], "root": "vendor/small", "parent": "hermes-agent"}
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("claude-3")


async def test_alias_runs_the_configured_model(start_server) -> None:
    server: Server = await start_server(api_server={"model_aliases": ["gpt-4o"]})
    server.llm.script(Text("aliased"))
    completion = await server.client().chat.completions.create(model="gpt-4o", messages=USER)
    assert completion.choices[0].message.content == "aliased"
    assert completion.model == "gpt-4o"
    [request] = server.llm.chat_requests
    assert request.model == "fake-model"


@pytest.mark.parametrize("stream", [False, True])
async def test_an_unknown_model_is_never_refused_and_is_echoed(server: Server, stream: bool) -> None:
    # The fleet manager's own client sends "hermes".
    server.llm.script(Text("still here"))
    client = server.client()
    if stream:
        chunks = [
            c async for c in await client.chat.completions.create(model="hermes", messages=USER, stream=True)
        ]
        assert {c.model for c in chunks} == {"hermes"}
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "still here"
    else:
        completion = await client.chat.completions.create(model="hermes", messages=USER)
        assert (completion.model, completion.choices[0].message.content) == ("hermes", "still here")
    [request] = server.llm.chat_requests
    assert request.model == "fake-model"


async def test_a_route_alias_runs_the_routes_model(start_server, http) -> None:
    server: Server = await start_server(api_server={"model_routes": {"fast": {"model": "vendor/small"}}})
    server.llm.script(Text("routed"), Text("not routed"))
    completion = await server.client().chat.completions.create(model="fast", messages=USER)
    assert (completion.model, completion.choices[0].message.content) == ("fast", "routed")
    # Aliases are exact: another case is just an unknown name. A JSON null is echoed as null.
    async with http.post(
        f"{server.base_url}/chat/completions",
        json={"model": None, "messages": USER},
        headers={"Authorization": f"Bearer {KEY}"},
    ) as response:
        assert response.status == 200
        assert (await response.json())["model"] is None
    assert [r.model for r in server.llm.chat_requests] == ["vendor/small", "fake-model"]


async def test_wrong_or_missing_key_is_an_authentication_error(server: Server) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        await server.client(api_key="not-the-key-0123456789").chat.completions.create(
            model="hermes-agent", messages=USER
        )
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert KEY not in str(caught.value)
    assert server.llm.chat_requests == []


async def test_bad_request_is_a_bad_request_error(server: Server) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await server.client().chat.completions.create(
            model="hermes-agent", messages=[{"role": "user", "content": ""}]
        )
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "messages[0].content"


async def test_provider_failure_is_a_502_with_the_provider_status(server: Server) -> None:
    server.llm.script(Error(429, "slow down"))
    with pytest.raises(openai.InternalServerError) as caught:
        await server.client().chat.completions.create(model="hermes-agent", messages=USER)
    assert caught.value.status_code == 502
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["code"] == "provider_error"
    assert body["provider_status"] == 429


async def test_provider_failure_before_a_stream_starts_is_a_502(server: Server) -> None:
    server.llm.script(Error(500, "upstream broke"))
    with pytest.raises(openai.InternalServerError) as caught:
        await server.client().chat.completions.create(model="hermes-agent", messages=USER, stream=True)
    assert caught.value.status_code == 502


async def test_provider_failure_mid_stream_raises_in_the_client(server: Server) -> None:
    server.llm.script(Cut(after=3, reply=Text("this answer breaks off half way through")))
    stream = await server.client().chat.completions.create(model="hermes-agent", messages=USER, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received).startswith("this")
    assert isinstance(caught.value.body, dict) and caught.value.body["type"] == "api_error"


async def test_tool_progress_events_do_not_disturb_plain_clients(server: Server) -> None:
    server.llm.script(
        ToolCalls([FakeCall("todo", {"todos": [{"content": "check", "status": "pending"}]})]),
        Text("All planned."),
    )
    stream = await server.client().chat.completions.create(model="hermes-agent", messages=USER, stream=True)
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "All planned."
    progress = [c for c in chunks if (c.model_extra or {}).get("toolCallId")]
    statuses = [c.model_extra["status"] for c in progress]
    assert statuses == ["running", "completed"]
    assert all(c.choices[0].delta.content is None for c in progress)
