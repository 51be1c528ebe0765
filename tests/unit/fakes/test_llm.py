"""The fake LLM server, exercised through the real `openai` and `anthropic` clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import anthropic
import httpx2
import openai
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.fakes.llm import (
    Call,
    Cut,
    Echo,
    Error,
    FakeLLM,
    FakeLLMProcess,
    Malformed,
    RecordedRequest,
    Stall,
    Text,
    ToolCalls,
    Transcription,
    Usage,
)
from tests.fakes.llm.answers import resolve, split_even, split_words
from tests.fakes.llm.anthropic_wire import AnthropicWire
from tests.fakes.llm.openai_wire import OpenAIWire
from tests.fakes.llm.turns import turns_from_json, turns_to_json

USER = [{"role": "user", "content": "hello there"}]
CHAT = "/v1/chat/completions"


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as fake:
        yield fake


@pytest.fixture
async def oai(llm: FakeLLM) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    yield client
    await client.close()


@pytest.fixture
async def ant(llm: FakeLLM) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(base_url=llm.anthropic_base_url, api_key="sk-ant-test", max_retries=0)
    yield client
    await client.close()


async def ant_create(client: anthropic.AsyncAnthropic, **kwargs: object) -> anthropic.types.Message:
    params: dict = {"model": "claude-test", "max_tokens": 64, "messages": USER, **kwargs}
    return await client.messages.create(**params)


async def oai_stream(client: openai.AsyncOpenAI, **kwargs: object) -> list:
    params: dict = {"model": "gpt-test", "messages": USER, "stream": True, **kwargs}
    stream = await client.chat.completions.create(**params)
    return [chunk async for chunk in stream]


async def oai_text(client: openai.AsyncOpenAI, **kwargs: object) -> str | None:
    params: dict = {"model": "gpt-test", "messages": USER, **kwargs}
    reply = await client.chat.completions.create(**params)
    return reply.choices[0].message.content


async def raw_post(llm: FakeLLM, path: str, body: object, headers: dict[str, str] | None = None):
    async with aiohttp.ClientSession() as session:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        async with session.post(llm.url + path, data=data, headers=headers or {}) as response:
            return response.status, await response.text()


# -- OpenAI: answers -----------------------------------------------------------------------------------------


async def test_openai_unscripted_request_gets_the_last_user_message_echoed(llm, oai):
    reply = await oai.chat.completions.create(model="gpt-test", messages=USER)

    assert reply.choices[0].message.content == "hello there"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "gpt-test"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == len(llm.requests[0].raw) // 4
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


async def test_openai_scripted_text_then_echo_when_the_script_runs_out(llm, oai):
    llm.script(Text("first"), Text("second"))

    answers = [await oai.chat.completions.create(model="m", messages=USER) for _ in range(3)]

    assert [a.choices[0].message.content for a in answers] == ["first", "second", "hello there"]
    assert llm.pending == 0


async def test_openai_stream_is_reassembled_and_ends_with_usage_when_asked(llm, oai):
    llm.script(Text("Hello brave new world", usage=Usage(prompt_tokens=11, completion_tokens=4)))

    chunks = await oai_stream(oai, stream_options={"include_usage": True})

    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert pieces == ["Hello ", "brave ", "new ", "world"]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (11, 4)


async def test_openai_stream_chunk_count_follows_the_script(llm, oai):
    llm.script(Text("abcdefghij", chunks=3))

    chunks = await oai_stream(oai)

    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert pieces == ["abcd", "efg", "hij"]
    assert all(c.usage is None for c in chunks)


async def test_openai_raw_stream_has_the_exact_wire_format(llm):
    llm.script(ToolCalls([Call("memory", {"a": 1})], arg_chunks=2))
    body = {"model": "m", "messages": USER, "stream": True, "stream_options": {"include_usage": True}}

    status, text = await raw_post(llm, CHAT, body, {"Content-Type": "application/json"})

    assert status == 200
    events = [e for e in text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    opening = chunks[1]["choices"][0]["delta"]["tool_calls"][0]
    assert opening["index"] == 0
    assert opening["type"] == "function"
    assert opening["function"] == {"name": "memory", "arguments": ""}
    assert opening["id"].startswith("call_")
    argument_deltas = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[2:4]]
    assert "".join(d["function"]["arguments"] for d in argument_deltas) == '{"a": 1}'
    assert all(set(d) == {"index", "function"} for d in argument_deltas)
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] > 0


async def test_openai_several_tool_calls_stream_through_the_stream_helper(llm, oai):
    llm.script(
        ToolCalls(
            [Call("memory", {"action": "add", "text": "likes tea"}), Call("web_search", {"q": "weather"})],
            text="Let me check.",
            arg_chunks=4,
        )
    )

    async with oai.chat.completions.stream(model="m", messages=USER) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_completion()

    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    assert message.content == "Let me check."
    assert [c.function.name for c in message.tool_calls] == ["memory", "web_search"]
    assert json.loads(message.tool_calls[0].function.arguments) == {"action": "add", "text": "likes tea"}
    assert json.loads(message.tool_calls[1].function.arguments) == {"q": "weather"}
    assert len({c.id for c in message.tool_calls}) == 2
    deltas = [e for e in events if e.type == "tool_calls.function.arguments.delta" and e.arguments_delta]
    assert len(deltas) == 8


async def test_openai_invalid_tool_arguments_arrive_verbatim(llm, oai):
    llm.script(ToolCalls([Call("memory", '{"action": "add", ')]))
    llm.script(ToolCalls([Call("memory", "not json", id="c1")]))

    async with oai.chat.completions.stream(model="m", messages=USER) as stream:
        streamed = await stream.get_final_completion()
    plain = await oai.chat.completions.create(model="m", messages=USER)

    assert streamed.choices[0].message.tool_calls[0].function.arguments == '{"action": "add", '
    assert plain.choices[0].message.content is None
    assert plain.choices[0].message.tool_calls[0].id == "c1"
    assert plain.choices[0].message.tool_calls[0].function.arguments == "not json"


async def test_openai_truncated_answer_reports_length(llm, oai):
    llm.script(Text("cut sho", truncated=True))

    reply = await oai.chat.completions.create(model="m", messages=USER)

    assert reply.choices[0].finish_reason == "length"


async def test_openai_sync_client_works_from_a_thread(llm):
    llm.script(Text("sync one"), Text("sync two"))

    def call() -> tuple[str | None, str]:
        with openai.OpenAI(base_url=llm.base_url, api_key="k", max_retries=0) as client:
            plain = client.chat.completions.create(model="m", messages=USER).choices[0].message.content
            stream = client.chat.completions.create(model="m", messages=USER, stream=True)
            streamed = "".join(c.choices[0].delta.content or "" for c in stream)
        return plain, streamed

    assert await asyncio.to_thread(call) == ("sync one", "sync two")


# -- OpenAI: failures ----------------------------------------------------------------------------------------


async def test_openai_429_carries_retry_after_and_the_real_error_body(llm, oai):
    llm.script(Error(429, retry_after=1))

    with pytest.raises(openai.RateLimitError) as caught:
        await oai.chat.completions.create(model="m", messages=USER)

    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.type == "requests"


async def test_openai_client_retries_a_429_and_gets_the_next_turn(llm):
    llm.script(Error(429, retry_after=0.01), Text("after the retry"))
    async with openai.AsyncOpenAI(base_url=llm.base_url, api_key="k", max_retries=2) as client:
        reply = await client.chat.completions.create(model="m", messages=USER)

    assert reply.choices[0].message.content == "after the retry"
    assert len(llm.chat_requests) == 2


@pytest.mark.parametrize(
    ("status", "exception"),
    [(500, openai.InternalServerError), (401, openai.AuthenticationError), (404, openai.NotFoundError)],
)
async def test_openai_http_errors_map_to_typed_exceptions(llm, oai, status, exception):
    llm.script(Error(status, message="scripted failure"))

    with pytest.raises(exception) as caught:
        await oai.chat.completions.create(model="m", messages=USER)

    assert caught.value.status_code == status
    assert caught.value.message == f"Error code: {status} - scripted failure"


async def test_openai_error_inside_a_stream_raises_api_error(llm, oai):
    llm.script(Error(500, message="boom mid-stream", in_stream=True))

    with pytest.raises(openai.APIError, match="boom mid-stream"):
        await oai_stream(oai)


async def test_openai_malformed_chunk_raises_a_json_error(llm, oai):
    llm.script(Malformed(after=2), Malformed())

    with pytest.raises(json.JSONDecodeError):
        await oai_stream(oai)
    with pytest.raises(json.JSONDecodeError):
        await oai.chat.completions.create(model="m", messages=USER)


async def test_openai_cut_stream_raises_connection_error(llm, oai):
    llm.script(Cut(after=3), Cut())
    received = []

    with pytest.raises(openai.APIConnectionError):
        stream = await oai.chat.completions.create(model="m", messages=USER, stream=True)
        async for chunk in stream:
            received.append(chunk)
    with pytest.raises(openai.APIConnectionError):
        await oai.chat.completions.create(model="m", messages=USER)

    assert len(received) == 3


async def test_openai_stall_times_the_client_out_after_the_first_chunk(llm):
    llm.script(Stall(), Stall())
    received = []
    async with openai.AsyncOpenAI(base_url=llm.base_url, api_key="k", max_retries=0, timeout=0.5) as client:
        with pytest.raises(openai.APITimeoutError):
            stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
            async for chunk in stream:
                received.append(chunk)
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(model="m", messages=USER)

    assert len(received) == 1


async def test_short_stall_pauses_then_finishes(llm, oai):
    llm.script(Stall(seconds=0.05, after=2, reply=Text("slow but whole")))

    chunks = await oai_stream(oai)

    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "slow but whole"


async def test_closing_the_fake_ends_a_stalled_stream(llm, oai):
    llm.script(Stall())
    consumer = asyncio.create_task(oai_stream(oai))
    await llm.wait_for_requests(1)

    await asyncio.wait_for(llm.close(), 3)

    with pytest.raises(openai.APIConnectionError):
        await consumer


async def test_delay_and_chunk_delay_are_real():
    async with (
        FakeLLM() as fake,
        openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0, timeout=0.5) as client,
    ):
        fake.script(Text("late", delay=30), Text("a b c", chunk_delay=30))
        with pytest.raises(openai.APITimeoutError):
            await oai_text(client)
        with pytest.raises(openai.APITimeoutError):
            await oai_stream(client)


async def test_instant_mode_skips_delays_and_streams_text_in_one_piece():
    async with (
        FakeLLM(instant=True) as fake,
        openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0, timeout=10) as client,
    ):
        fake.script(Text("late", delay=30), Text("a b c", chunk_delay=30), Stall(seconds=0.01))
        assert await oai_text(client) == "late"
        chunks = await oai_stream(client)
        stalled = await oai_stream(client)

    assert [c.choices[0].delta.content for c in chunks] == ["", "a b c", None]
    assert "".join(c.choices[0].delta.content or "" for c in stalled) == "Sorry, I was stuck."


async def test_strict_fake_refuses_unscripted_requests():
    async with (
        FakeLLM(fallback=None) as fake,
        openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0) as client,
    ):
        with pytest.raises(openai.BadRequestError, match="no scripted turn left"):
            await client.chat.completions.create(model="m", messages=USER)


async def test_fallback_can_depend_on_the_request():
    async with (
        FakeLLM(fallback=lambda request: Text(f"you asked {request.model}")) as fake,
        openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0) as client,
    ):
        reply = await client.chat.completions.create(model="gpt-x", messages=USER)

    assert reply.choices[0].message.content == "you asked gpt-x"


# -- OpenAI: request checks the real API makes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (
            [*USER, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
             "function": {"name": "f", "arguments": "{}"}}]}, {"role": "user", "content": "and?"}],
            "did not have response messages: c1",
        ),
        ([*USER, {"role": "tool", "tool_call_id": "c9", "content": "x"}], "must be a response to a preceed"),
        ([{"role": "robot", "content": "x"}], "Invalid value: 'robot'"),
        ([], "empty array"),
    ],
)  # fmt: skip
async def test_openai_invalid_conversations_get_the_real_400_and_keep_the_turn(llm, oai, messages, expected):
    llm.script(Text("kept for later"))

    with pytest.raises(openai.BadRequestError, match=expected):
        await oai.chat.completions.create(model="m", messages=messages)

    assert llm.pending == 1
    reply = await oai.chat.completions.create(model="m", messages=USER)
    assert reply.choices[0].message.content == "kept for later"


async def test_openai_tool_round_trip_is_accepted(oai):
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        *USER,
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "tool says hi"},
    ]
    reply = await oai.chat.completions.create(model="m", messages=messages)

    assert reply.choices[0].message.content == "hello there"


async def test_openai_tool_names_must_match_the_api_pattern(oai):
    tools = [{"type": "function", "function": {"name": "mcp.server.tool", "parameters": {"type": "object"}}}]

    with pytest.raises(openai.BadRequestError, match=r"tools\[0\]\.function\.name"):
        await oai.chat.completions.create(model="m", messages=USER, tools=tools)


async def test_unparseable_body_gets_a_400_and_is_recorded(llm):
    status, text = await raw_post(llm, CHAT, b"{not json", {"Content-Type": "application/json"})

    assert status == 400
    assert json.loads(text)["error"]["type"] == "invalid_request_error"
    assert llm.requests[0].raw == b"{not json"
    assert llm.requests[0].body is None


async def test_wrong_api_key_is_refused_by_both_apis():
    async with FakeLLM(api_key="right-key") as fake:
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="wrong", max_retries=0) as client:
            with pytest.raises(openai.AuthenticationError):
                await client.chat.completions.create(model="m", messages=USER)
        async with anthropic.AsyncAnthropic(base_url=fake.url, api_key="wrong", max_retries=0) as client:
            with pytest.raises(anthropic.AuthenticationError):
                await ant_create(client)
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="right-key", max_retries=0) as client:
            reply = await client.chat.completions.create(model="m", messages=USER)
    assert reply.choices[0].message.content == "hello there"


async def test_wrong_base_url_gets_the_real_404_and_is_recorded(llm):
    async with openai.AsyncOpenAI(base_url=llm.url, api_key="k", max_retries=0) as client:
        with pytest.raises(openai.NotFoundError, match=r"Invalid URL \(POST /chat/completions\)"):
            await client.chat.completions.create(model="m", messages=USER)

    assert llm.requests[0].path == "/chat/completions"
    assert llm.requests[0].api == "other"


# -- OpenAI: models and audio --------------------------------------------------------------------------------


async def test_models_are_listed_for_both_clients():
    async with FakeLLM(models=("alpha", "beta")) as fake:
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0) as client:
            assert [m.id async for m in client.models.list()] == ["alpha", "beta"]
            assert (await client.models.retrieve("beta")).id == "beta"
            with pytest.raises(openai.NotFoundError):
                await client.models.retrieve("gamma")
        async with anthropic.AsyncAnthropic(base_url=fake.url, api_key="k", max_retries=0) as client:
            assert [m.id async for m in client.models.list()] == ["alpha", "beta"]


async def test_transcription_echoes_text_audio_or_follows_the_script(llm, oai):
    llm.script(Transcription("scripted words"), Text("chat is not disturbed"))
    llm.script_audio(Error(500))

    noise = ("a.ogg", b"\x00\xff", "audio/ogg")
    scripted = await oai.audio.transcriptions.create(file=noise, model="whisper-1")
    with pytest.raises(openai.InternalServerError):
        await oai.audio.transcriptions.create(file=noise, model="whisper-1")
    speech = ("v.ogg", b"turn on the lights", "audio/ogg")
    heard = await oai.audio.transcriptions.create(file=speech, model="w")
    plain = await oai.audio.transcriptions.create(file=speech, model="w", response_format="text")
    chat = await oai.chat.completions.create(model="m", messages=USER)

    assert (scripted.text, heard.text, plain.strip()) == ("scripted words", *[speech[1].decode()] * 2)
    assert chat.choices[0].message.content == "chat is not disturbed"
    upload = llm.requests[0].form["file"]
    assert (upload.filename, upload.content_type, upload.data) == ("a.ogg", "audio/ogg", b"\x00\xff")
    assert llm.requests[0].form["model"] == "whisper-1"


async def test_bad_transcription_uploads_get_a_400_and_the_fake_keeps_serving(llm, oai):
    no_file = aiohttp.FormData()
    no_file.add_field("model", "whisper-1")
    broken = b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc'
    url = llm.base_url + "/audio/transcriptions"
    answers = []
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=no_file) as response:
            answers.append((response.status, (await response.json())["error"]["message"]))
        headers = {"Content-Type": "multipart/form-data; boundary=XYZ"}
        async with session.post(url, data=broken, headers=headers) as response:
            answers.append((response.status, (await response.json())["error"]["message"]))

    assert answers == [
        (400, "Missing required parameter: 'file'."),
        (400, "Could not parse multipart form"),
    ]
    speech = ("v.ogg", b"still listening", "audio/ogg")
    assert (await oai.audio.transcriptions.create(file=speech, model="w")).text == "still listening"


# -- Anthropic -----------------------------------------------------------------------------------------------


async def test_anthropic_text_and_usage(llm, ant):
    llm.script(Text("hi from claude", usage=Usage(prompt_tokens=30, completion_tokens=5, cache_read_tokens=20,
                                                  cache_write_tokens=7)))  # fmt: skip
    reply = await ant_create(ant)
    echoed = await ant_create(ant)

    assert [b.text for b in reply.content] == ["hi from claude"]
    assert reply.stop_reason == "end_turn"
    assert reply.id.startswith("msg_")
    usage = reply.usage
    assert (usage.input_tokens, usage.output_tokens) == (30, 5)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (20, 7)
    assert echoed.content[0].text == "hello there"


async def test_anthropic_stream_helper_reassembles_text(llm, ant):
    llm.script(Text("streaming from claude", chunks=4))

    async with ant.messages.stream(model="c", max_tokens=64, messages=USER) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()

    assert len(pieces) == 4
    assert "".join(pieces) == final.content[0].text == "streaming from claude"
    assert final.usage.output_tokens == len("streaming from claude") // 4


async def test_anthropic_raw_event_sequence(llm):
    llm.script(ToolCalls([Call("memory", {"k": "v"})], text="ok", arg_chunks=2))
    body = {"model": "c", "max_tokens": 5, "messages": USER, "stream": True}

    status, text = await raw_post(llm, "/v1/messages", body, {"anthropic-version": "2023-06-01"})

    assert status == 200
    events = [e.split("\n") for e in text.split("\n\n") if e]
    names = [lines[0].removeprefix("event: ") for lines in events]
    payloads = [json.loads(lines[1].removeprefix("data: ")) for lines in events]
    assert names == [
        "message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    assert [p["type"] for p in payloads] == names
    assert payloads[5]["content_block"]["type"] == "tool_use"
    assert "".join(p["delta"]["partial_json"] for p in payloads[6:9]) == '{"k": "v"}'
    assert payloads[10]["delta"]["stop_reason"] == "tool_use"


async def test_anthropic_several_tool_uses_stream_through_the_helper(llm, ant):
    llm.script(ToolCalls([Call("memory", {"text": "x" * 40}), Call("clock", {})], arg_chunks=5))

    async with ant.messages.stream(model="c", max_tokens=64, messages=USER) as stream:
        json_deltas = [e async for e in stream if e.type == "input_json"]
        final = await stream.get_final_message()

    uses = [b for b in final.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("memory", {"text": "x" * 40}), ("clock", {})]
    assert all(u.id.startswith("toolu_") for u in uses)
    assert final.stop_reason == "tool_use"
    assert len(json_deltas) >= 5


async def test_anthropic_invalid_tool_arguments(llm, ant):
    llm.script(ToolCalls([Call("memory", "{broken")]), ToolCalls([Call("memory", "{broken")]))

    with pytest.raises(ValueError, match="Unable to parse tool parameter JSON"):
        async with ant.messages.stream(model="c", max_tokens=64, messages=USER) as stream:
            await stream.get_final_message()
    plain = await ant_create(ant)

    assert plain.content[0].input == "{broken"


async def test_anthropic_truncated_answer_reports_max_tokens(llm, ant):
    llm.script(Text("cut", truncated=True))

    assert (await ant_create(ant)).stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("status", "exception", "error_type"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
    ],
)
async def test_anthropic_http_errors_have_the_real_envelope(llm, ant, status, exception, error_type):
    llm.script(Error(status, retry_after=2))

    with pytest.raises(exception) as caught:
        await ant_create(ant)

    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == error_type
    assert caught.value.response.headers["retry-after"] == "2"


async def test_anthropic_client_retries_overloaded_then_succeeds(llm):
    llm.script(Error(529, retry_after=0.01), Text("second time lucky"))
    async with anthropic.AsyncAnthropic(base_url=llm.url, api_key="k", max_retries=2) as client:
        reply = await ant_create(client)

    assert reply.content[0].text == "second time lucky"
    assert len(llm.chat_requests) == 2


async def test_anthropic_stream_failures(llm, ant):
    llm.script(Error(529, in_stream=True), Malformed(), Cut(after=4), Cut())

    with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
        [e async for e in await ant_create(ant, stream=True)]
    with pytest.raises(json.JSONDecodeError):
        [e async for e in await ant_create(ant, stream=True)]
    # The anthropic client lets the transport error through unwrapped when a stream is cut.
    with pytest.raises(httpx2.RemoteProtocolError):
        [e async for e in await ant_create(ant, stream=True)]
    with pytest.raises(anthropic.APIConnectionError):
        await ant_create(ant)


@pytest.mark.parametrize(
    ("messages", "extra", "expected"),
    [
        ([{"role": "system", "content": "x"}, *USER], {}, "messages.0.role"),
        (
            [*USER, {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f",
                                                       "input": {}}]},
             {"role": "user", "content": "forgot the result"}],
            {},
            "without `tool_result` blocks immediately after: t1",
        ),
        (
            [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t7", "content": "x"}]}],
            {},
            "unexpected `tool_use_id`",
        ),
        (
            [{"role": "user", "content": [{"type": "text", "text": str(i),
                                           "cache_control": {"type": "ephemeral"}} for i in range(5)]}],
            {},
            "A maximum of 4 blocks with cache_control",
        ),
        (USER, {"tools": [{"name": "bad name", "input_schema": {"type": "object"}}]}, "tools.0.custom.name"),
    ],
)  # fmt: skip
async def test_anthropic_invalid_requests_get_the_real_400(llm, ant, messages, extra, expected):
    llm.script(Text("kept"))

    with pytest.raises(anthropic.BadRequestError, match=expected) as caught:
        await ant_create(ant, messages=messages, **extra)

    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert llm.pending == 1


async def test_anthropic_version_header_is_required(llm):
    body = {"model": "c", "max_tokens": 5, "messages": USER}

    status, text = await raw_post(llm, "/v1/messages", body)

    assert status == 400
    assert json.loads(text)["error"]["message"] == "anthropic-version: header is required"


async def test_anthropic_tool_round_trip_echoes_the_tool_result(ant):
    messages = [
        *USER,
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "42 degrees"}]},
    ]

    reply = await ant_create(ant, messages=messages)

    assert reply.content[0].text == "42 degrees"


async def test_anthropic_count_tokens(ant):
    counted = await ant.messages.count_tokens(model="c", messages=USER)

    assert counted.input_tokens > 0


# -- recording -----------------------------------------------------------------------------------------------


async def test_openai_request_is_recorded_in_detail(llm, oai):
    messages = [
        {"role": "system", "content": "You are Hermes."},
        {"role": "user", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ]},
    ]  # fmt: skip
    tools = [{"type": "function", "function": {"name": "memory", "parameters": {"type": "object"}}}]

    await oai.chat.completions.create(model="gpt-rec", messages=messages, tools=tools)

    [request] = await llm.wait_for_requests(1)
    assert (request.method, request.path, request.api, request.model) == ("POST", CHAT, "openai", "gpt-rec")
    assert request.system == "You are Hermes."
    assert request.tool_names == ["memory"]
    assert request.messages[1]["content"][1]["type"] == "image_url"
    assert request.last_user_text == "what is this?"
    assert request.api_key == "sk-test"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.stream is False


async def test_anthropic_request_is_recorded_with_cache_markers(llm, ant):
    system = [{"type": "text", "text": "You are Hermes.", "cache_control": {"type": "ephemeral"}}]
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    messages = [{"role": "user", "content": [image, {"type": "text", "text": "look"}]}]
    tools = [{"name": "memory", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}}]

    await ant_create(ant, system=system, messages=messages, tools=tools)

    [request] = llm.requests
    assert request.api == "anthropic"
    assert request.system == "You are Hermes."
    assert request.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request.body["tools"][0]["cache_control"] == {"type": "ephemeral"}
    assert request.tool_names == ["memory"]
    assert request.messages[0]["content"][0]["type"] == "image"
    assert request.api_key == "sk-ant-test"
    assert "anthropic-version" in request.headers


async def test_wait_for_requests_filters_by_path_and_times_out_clearly(llm, oai):
    await oai.models.list()
    waiter = asyncio.create_task(llm.wait_for_requests(1, path=CHAT))
    await asyncio.sleep(0)
    assert not waiter.done()

    await oai.chat.completions.create(model="m", messages=USER)

    assert [r.path for r in await asyncio.wait_for(waiter, 2)] == [CHAT]
    with pytest.raises(TimeoutError, match="for 3 request"):
        await llm.wait_for_requests(3, timeout=0.05)


async def test_without_recording_requests_are_only_counted():
    async with (
        FakeLLM(record=False) as fake,
        openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0) as client,
    ):
        await client.chat.completions.create(model="m", messages=USER)
        await fake.wait_for_requests(1)

        assert fake.request_count == 1
        assert fake.requests == []


async def test_reset_forgets_script_and_requests(llm, oai):
    llm.script(Text("never"))
    await oai.models.list()

    llm.reset()

    assert (llm.pending, llm.request_count, llm.requests) == (0, 0, [])
    assert await oai_text(oai) == "hello there"


# -- scripting helpers ---------------------------------------------------------------------------------------


def test_turns_survive_the_json_round_trip():
    turns = [
        Text("a", chunks=2, truncated=True, usage=Usage(prompt_tokens=3)),
        ToolCalls([Call("f", {"x": [1]}), Call("g", "{bad", id="i")], text="t"),
        Echo(prefix="> "),
        Error(429, retry_after=0.5, in_stream=True),
        Malformed(after=3, reply=ToolCalls([Call("h")])),
        Cut(),
        Stall(seconds=1, reply=Echo()),
        Transcription("words"),
    ]

    assert turns_from_json(json.loads(json.dumps(turns_to_json(turns)))) == turns


def test_tool_calls_need_a_call():
    with pytest.raises(ValueError, match="at least one Call"):
        ToolCalls([])


@given(st.text())
def test_word_split_loses_nothing(text):
    assert "".join(split_words(text)) == text


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_even_split_loses_nothing_and_respects_the_count(text, pieces):
    parts = split_even(text, pieces)
    assert "".join(parts) == text
    assert len(parts) == min(pieces, len(text))


_KEYS = st.sampled_from(
    [
        "model",
        "messages",
        "tools",
        "role",
        "content",
        "tool_calls",
        "type",
        "tool_use_id",
        "tool_call_id",
        "id",
        "function",
        "name",
        "system",
        "max_tokens",
        "cache_control",
        "text",
        "stream",
    ]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    | st.sampled_from(["user", "assistant", "tool", "tool_use", "tool_result", "text"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=25,
)  # fmt: skip


@settings(max_examples=300)
@given(_JSON)
@example({"messages": [{"role": "assistant", "content": [{"type": "tool_use"}], "tool_calls": [{}]}]})
def test_any_json_body_is_judged_without_crashing(body):
    headers = {"anthropic-version": "2023-06-01"}
    for wire in (OpenAIWire(), AnthropicWire()):
        assert isinstance(wire.validate(body, headers), str | None)
        recorded = RecordedRequest("POST", "/v1/x", wire.api, {}, body=body)
        assert isinstance(recorded.system + recorded.last_user_text + "".join(recorded.tool_names), str)
    answer = resolve(Echo(), body, 10, "call_", 1, stream=True, instant=False)
    assert answer.text


# -- control endpoint ----------------------------------------------------------------------------------------


async def test_control_endpoint_rejects_bad_input_and_keeps_the_script(llm, oai):
    llm.script(Text("still here"))
    async with aiohttp.ClientSession() as session:

        async def call(method: str, path: str, data: object) -> tuple[int, dict]:
            payload = data if isinstance(data, str) else json.dumps(data)
            async with session.request(method, llm.url + path, data=payload) as response:
                return response.status, await response.json()

        bad = [
            ("POST", "/_fake/script", "not json", "body is not JSON"),
            ("POST", "/_fake/script", [], "body must be a JSON object"),
            (
                "POST",
                "/_fake/script",
                {"turns": [{"kind": "text", "text": "ok"}, {"kind": "x"}]},
                "invalid turns",
            ),
            ("POST", "/_fake/script", {"turns": [{"kind": "text"}]}, "Field required"),
            ("PUT", "/_fake/fallback", {"turn": {"kind": "transcription", "text": "x"}}, "cannot answer"),
            ("PUT", "/_fake/fallback", {}, "expected"),
            ("POST", "/_fake/wait", {"count": "two"}, "expected"),
            ("GET", "/_fake/requests?since=soon", None, "since must be an integer"),
        ]
        for method, path, data, expected in bad:
            status, body = await call(method, path, data if data is not None else "")
            assert status == 400, (path, data)
            assert expected in body["error"], (path, body)
        assert await call("POST", "/_fake/wait", {"count": 5, "timeout": 0.05}) == (
            408,
            {"error": "fake LLM: waited 0.05s for 5 request(s), got 0"},
        )

    assert llm.pending == 1
    assert await oai_text(oai) == "still here"


async def test_fake_in_a_subprocess_is_scripted_over_the_control_endpoint():
    async with FakeLLMProcess() as remote:
        await remote.script(Text("from afar"), ToolCalls([Call("memory", {"a": 1})]))
        assert (await remote.state())["pending"] == 2
        async with openai.AsyncOpenAI(base_url=remote.base_url, api_key="k", max_retries=0) as client:
            first = await client.chat.completions.create(model="m", messages=USER)
            second = await client.chat.completions.create(model="m", messages=USER)
            echoed = await client.chat.completions.create(model="m", messages=USER)
            await remote.set_fallback(None)
            with pytest.raises(openai.BadRequestError, match="no scripted turn left"):
                await client.chat.completions.create(model="m", messages=USER)
        async with anthropic.AsyncAnthropic(base_url=remote.anthropic_base_url, api_key="a") as c:
            await remote.script(Text("claude from afar"))
            assert (await ant_create(c)).content[0].text == "claude from afar"

        requests = await remote.wait_for_requests(5, timeout=2)
        assert [r.api for r in requests] == ["openai"] * 4 + ["anthropic"]
        assert requests[0].messages == USER
        assert requests[0].api_key == "k"
        assert [r.path for r in await remote.requests(since=4)] == ["/v1/messages"]
        await remote.reset()
        assert await remote.state() == {"pending": 0, "pending_audio": 0, "count": 0}

    assert first.choices[0].message.content == "from afar"
    assert second.choices[0].message.tool_calls[0].function.name == "memory"
    assert echoed.choices[0].message.content == "hello there"


async def test_subprocess_that_cannot_start_says_so():
    with pytest.raises(RuntimeError, match="failed to start"):
        async with FakeLLMProcess("--port", "not-a-port"):
            pass
