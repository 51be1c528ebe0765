"""The aiohttp client behind the OpenAI-compatible families: what the shared provider tests in
test_providers.py do not reach (timeouts, dead endpoints, proxies, huge SSE lines, `check()`, the body)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from aiohttp import web

from hermes.agent.contract import Failed, Final, ToolFinished, ToolStarted
from hermes.agent.messages import Message, SystemPrompt
from hermes.agent.providers.base import ProviderError, ProviderRequest, ToolSpec
from hermes.agent.providers.openai_compat import OpenAICompatProvider
from hermes.agent.providers.openai_http import OpenAIHttp
from hermes.agent.providers.retry import RetryPolicy
from hermes.agent.tools.base import ToolContext, ToolResult
from tests.fakes.llm import Call, Stall, Text, ToolCalls
from tests.integration.agent.conftest import SECRET, MakeRig, texts, tool_results

NO_RETRIES = RetryPolicy(max_retries=0, max_seconds=10.0, base_delay=0.01, max_delay=0.05)
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(routes: dict[tuple[str, str], Handler]) -> AsyncIterator[str]:
    """A throwaway HTTP server on 127.0.0.1 for answers the fake LLM cannot give; yields its base URL."""
    app = web.Application()
    for (method, path), handler in routes.items():
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextmanager
def dead_port() -> Iterator[int]:
    """A port that refuses connections: bound, so nobody else takes it, but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    event = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(event)}\n\n".encode()


async def stream_reply(request: web.Request, text: str) -> web.StreamResponse:
    """A minimal valid chat completion stream saying `text`."""
    await request.read()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(
        chunk({"role": "assistant", "content": text}) + chunk({}, "stop") + b"data: [DONE]\n\n"
    )
    await response.write_eof()
    return response


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean slate for the proxy variables, whatever the machine running the tests has set."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


class SchemaTool:
    """A tool whose schema the test controls; answers with the arguments it got."""

    def __init__(self, name: str, description: str, parameters: dict[str, Any]) -> None:
        self.name = name
        self.description = description
        self.parameters = parameters
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        self.calls.append(args)
        return ToolResult(f"{self.name} got {sum(len(str(v)) for v in args.values())} chars")


def sent_tools(request_body: Any) -> dict[str, dict[str, Any]]:
    return {tool["function"]["name"]: tool["function"] for tool in request_body["tools"]}


# -- timeouts and connections ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "turn",
    [Stall(after=1), Text("too late", delay=30)],
    ids=["stalled-mid-stream", "no-headers"],
)
async def test_a_silent_provider_fails_as_not_answering_in_time(make_rig: MakeRig, turn) -> None:
    rig = await make_rig(config={"model": {"request_timeout_seconds": 0.3}}, retry=NO_RETRIES)
    rig.llm.script(turn)
    started = time.monotonic()
    events = await rig.run("are you there?")
    elapsed = time.monotonic() - started
    failed = events[-1]
    assert isinstance(failed, Failed) and not failed.cancelled
    assert "OpenAI did not answer in time" in failed.message
    assert 0.3 <= elapsed < 2.0
    assert len(rig.llm.chat_requests) == 1
    assert isinstance((await rig.run("hello again"))[-1], Final)


async def test_a_read_timeout_is_retried(make_rig: MakeRig) -> None:
    rig = await make_rig(config={"model": {"request_timeout_seconds": 0.3}})
    rig.llm.script(Stall(after=1), Text("Here now."))
    events = await rig.run("are you there?")
    assert isinstance(events[-1], Final) and events[-1].text == "Here now." == texts(events)
    assert len(rig.llm.chat_requests) == 2


async def test_an_endpoint_nobody_listens_on_is_reported_without_the_key(make_rig: MakeRig) -> None:
    with dead_port() as port:
        rig = await make_rig(
            "custom", config={"model": {"base_url": f"http://127.0.0.1:{port}", "api_key": SECRET}}
        )
        started = time.monotonic()
        events = await rig.run("hello")
    failed = events[-1]
    assert isinstance(failed, Failed) and not failed.cancelled
    assert "could not reach the custom endpoint" in failed.message
    # Refused connections are retried like any network failure, within the policy's bounds.
    assert "gave up after 4 attempts" in failed.message
    assert SECRET not in failed.message
    assert time.monotonic() - started < 2.0
    assert rig.llm.requests == []


# -- a tool argument in one huge SSE line ------------------------------------------------------------------


async def test_tool_arguments_sent_in_one_sse_line_of_over_200_kib_run_the_tool(make_rig: MakeRig) -> None:
    tool = SchemaTool("bulk", "takes a lot", {"type": "object", "properties": {"blob": {"type": "string"}}})
    rig = await make_rig(tools={"bulk": tool})
    blob = "é" * 5_000 + "x" * 210_000
    # arg_chunks=1 with no chunk delay: the fake writes the whole arguments as one `data:` line.
    rig.llm.script(ToolCalls([Call("bulk", {"blob": blob})], arg_chunks=1), Text("Stored it."))
    events = await rig.run("store this")
    (started,) = [e for e in events if isinstance(e, ToolStarted)]
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    assert started.name == "bulk" and finished.ok
    assert tool.calls == [{"blob": blob}]
    assert tool_results(rig.llm.chat_requests[-1]) == [f"bulk got {len(blob)} chars"]
    assert isinstance(events[-1], Final) and events[-1].text == "Stored it."


# -- Retry-After in milliseconds ---------------------------------------------------------------------------


def rate_limited_once(seen: list[web.Request]) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        if len(seen) == 1:
            await request.read()
            envelope = {
                "error": {"message": f"Slow down, {SECRET}", "type": "requests", "code": "rate_limit"}
            }
            return web.json_response(envelope, status=429, headers={"retry-after-ms": "50"})
        return await stream_reply(request, "Back again.")

    return handle


async def test_the_client_reports_retry_after_ms_then_streams_up_to_done() -> None:
    seen: list[web.Request] = []
    async with serve({("POST", "/v1/chat/completions"): rate_limited_once(seen)}) as url:
        http = OpenAIHttp(f"{url}/v1/", SECRET, label="Testing", timeout=5.0)
        try:
            with pytest.raises(ProviderError) as caught:
                [data async for data in http.stream("chat/completions", b'{"model": "m"}')]
            error = caught.value
            assert error.status == 429 and error.retryable and error.retry_after == pytest.approx(0.05)
            assert "Testing returned HTTP 429: Slow down" in error.message
            assert SECRET not in error.message
            received = [data async for data in http.stream("chat/completions", b'{"model": "m"}')]
        finally:
            await http.close()
    assert [json.loads(data)["choices"][0]["finish_reason"] for data in received] == [None, "stop"]
    assert [r.headers["Authorization"] for r in seen] == [f"Bearer {SECRET}"] * 2
    assert all(r.headers["Content-Type"] == "application/json" for r in seen)


async def test_the_stream_ends_at_done_even_if_the_server_goes_on() -> None:
    async def chatty(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: one\n\ndata: [DONE]\n\ndata: after\n\n")
        await response.write_eof()
        return response

    async with serve({("POST", "/v1/chat/completions"): chatty}) as url:
        http = OpenAIHttp(f"{url}/v1", None, label="Testing", timeout=5.0)
        try:
            assert [data async for data in http.stream("chat/completions", b"{}")] == ["one"]
        finally:
            await http.close()


async def test_a_retry_after_ms_header_sets_the_wait_before_the_retry(make_rig: MakeRig) -> None:
    seen: list[web.Request] = []
    async with serve({("POST", "/v1/chat/completions"): rate_limited_once(seen)}) as url:
        # Without the header the backoff would be 5-10 seconds; the run's own timeout is 20.
        slow_backoff = RetryPolicy(max_retries=2, max_seconds=30.0, base_delay=10.0, max_delay=10.0)
        rig = await make_rig("custom", config={"model": {"base_url": url}}, retry=slow_backoff)
        started = time.monotonic()
        events = await rig.run("hello")
        elapsed = time.monotonic() - started
    assert isinstance(events[-1], Final) and events[-1].text == "Back again."
    assert len(seen) == 2
    assert 0.05 <= elapsed < 2.0


# -- proxies -----------------------------------------------------------------------------------------------


async def test_a_dead_http_proxy_is_used_and_no_proxy_bypasses_it(
    make_rig: MakeRig, no_proxy_env: pytest.MonkeyPatch
) -> None:
    with dead_port() as port:
        no_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        proxied = await make_rig("custom", retry=NO_RETRIES)
        failed = (await proxied.run("hello"))[-1]
        assert isinstance(failed, Failed) and "could not reach the custom endpoint" in failed.message
        assert proxied.llm.requests == []

        no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
        bypassing = await make_rig("custom", retry=NO_RETRIES)
        events = await bypassing.run("hello")
    assert isinstance(events[-1], Final) and events[-1].text == "hello"
    assert len(bypassing.llm.chat_requests) == 1


async def test_requests_go_through_a_live_http_proxy(
    make_rig: MakeRig, no_proxy_env: pytest.MonkeyPatch
) -> None:
    forwarded: list[str] = []

    async def proxy(request: web.Request) -> web.StreamResponse:
        # A forward proxy is sent the absolute URL of the target in the request line.
        forwarded.append(f"{request.method} {request.raw_path}")
        return await stream_reply(request, "Via the proxy.")

    async with serve({("*", "/{tail:.*}"): proxy}) as proxy_url:
        no_proxy_env.setenv("HTTP_PROXY", proxy_url)
        rig = await make_rig("custom", retry=NO_RETRIES)
        events = await rig.run("hello")
    assert isinstance(events[-1], Final) and events[-1].text == "Via the proxy."
    assert forwarded == [f"POST {rig.llm.url}/v1/chat/completions"]
    assert rig.llm.requests == []


async def test_an_https_proxy_is_not_used_for_an_http_endpoint(
    make_rig: MakeRig, no_proxy_env: pytest.MonkeyPatch
) -> None:
    with dead_port() as port:
        no_proxy_env.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
        rig = await make_rig("custom", retry=NO_RETRIES)
        events = await rig.run("hello")
    assert isinstance(events[-1], Final) and events[-1].text == "hello"


async def test_the_proxy_is_settled_when_the_provider_is_built(
    make_rig: MakeRig, no_proxy_env: pytest.MonkeyPatch
) -> None:
    rig = await make_rig("custom", retry=NO_RETRIES)
    with dead_port() as port:
        no_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        events = await rig.run("hello")
    assert isinstance(events[-1], Final) and events[-1].text == "hello"


# -- check() -----------------------------------------------------------------------------------------------


async def test_check_counts_the_models_the_endpoint_lists(make_rig: MakeRig) -> None:
    rig = await make_rig("openai")
    rig.llm.models = ["fake-model", "fake-mini", "fake-large"]
    assert await rig.agent.provider.check() == "OpenAI answered with 3 model(s)"
    (listing,) = rig.llm.requests
    assert listing.method == "GET" and listing.path == "/v1/models"
    assert listing.api_key == SECRET


async def test_check_reports_a_refused_key_with_its_status_and_message(make_rig: MakeRig) -> None:
    async def refuse(request: web.Request) -> web.Response:
        envelope = {
            "error": {
                "message": f"Incorrect API key provided: {SECRET}.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
        return web.json_response(envelope, status=401)

    async with serve({("GET", "/v1/models"): refuse}) as url:
        rig = await make_rig("custom", config={"model": {"base_url": url, "api_key": SECRET}})
        with pytest.raises(ProviderError) as caught:
            await rig.agent.provider.check()
    error = caught.value
    assert error.status == 401 and not error.retryable
    assert "the custom endpoint returned HTTP 401: Incorrect API key provided" in error.message
    assert SECRET not in error.message


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("<html><body>Welcome to nginx!</body></html>", "text/html", "models with something other than JSON"),
        ('{"object": "list"}', "application/json", "answered the models list with an unexpected body"),
        ('["fake-model"]', "application/json", "answered the models list with an unexpected body"),
    ],
    ids=["html", "no-data", "a-list"],
)
async def test_check_rejects_a_models_answer_that_is_not_a_models_list(
    make_rig: MakeRig, body: str, content_type: str, expected: str
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type=content_type)

    async with serve({("GET", "/v1/models"): answer}) as url:
        rig = await make_rig("custom", config={"model": {"base_url": url}})
        with pytest.raises(ProviderError) as caught:
            await rig.agent.provider.check()
    assert expected in caught.value.message
    assert caught.value.message.startswith("the custom endpoint")
    assert caught.value.status is None and not caught.value.retryable


async def test_check_against_a_dead_endpoint_says_it_could_not_reach_it(make_rig: MakeRig) -> None:
    with dead_port() as port:
        rig = await make_rig("custom", config={"model": {"base_url": f"http://127.0.0.1:{port}"}})
        with pytest.raises(ProviderError) as caught:
            await rig.agent.provider.check()
    assert caught.value.message.startswith("could not reach the custom endpoint")


# -- the request body --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "cap_field", "title"),
    [
        ("openai", "max_completion_tokens", None),
        ("openrouter", "max_tokens", "Hermes"),
        ("custom", "max_tokens", None),
    ],
)
async def test_each_family_names_the_output_cap_and_itself_as_it_should(
    make_rig: MakeRig, provider: str, cap_field: str, title: str | None
) -> None:
    rig = await make_rig(provider)
    assert isinstance((await rig.run("hello"))[-1], Final)
    (request,) = rig.llm.chat_requests
    other = {"max_tokens", "max_completion_tokens"} - {cap_field}
    assert isinstance(request.body[cap_field], int) and not other & request.body.keys()
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.headers.get("x-title") == title
    assert request.headers["user-agent"].startswith("hermes-gateway/")


async def test_tools_sharing_one_schema_object_keep_their_own_names(make_rig: MakeRig) -> None:
    shared = {"type": "object", "properties": {"query": {"type": "string"}}}
    alpha = SchemaTool("alpha", "the first", shared)
    beta = SchemaTool("beta", "the second", shared)
    rig = await make_rig(tools={"alpha": alpha, "beta": beta})
    for turn in range(2):
        assert isinstance((await rig.run(f"turn {turn}"))[-1], Final)
        sent = sent_tools(rig.llm.chat_requests[-1].body)
        assert sent["alpha"] == {"name": "alpha", "description": "the first", "parameters": shared}
        assert sent["beta"] == {"name": "beta", "description": "the second", "parameters": shared}


async def test_a_tool_given_a_new_schema_object_is_sent_with_it_on_the_next_run(make_rig: MakeRig) -> None:
    tool = SchemaTool(
        "lookup", "looks things up", {"type": "object", "properties": {"a": {"type": "string"}}}
    )
    rig = await make_rig(tools={"lookup": tool})
    assert isinstance((await rig.run("first"))[-1], Final)
    assert sent_tools(rig.llm.chat_requests[-1].body)["lookup"]["parameters"]["properties"] == {
        "a": {"type": "string"}
    }

    tool.parameters = {"type": "object", "properties": {"b": {"type": "integer"}}, "required": ["b"]}
    assert isinstance((await rig.run("second"))[-1], Final)
    assert sent_tools(rig.llm.chat_requests[-1].body)["lookup"]["parameters"] == tool.parameters


async def test_the_body_always_holds_the_current_schema_however_often_it_is_replaced(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig("custom")
    provider = rig.agent.provider
    assert isinstance(provider, OpenAICompatProvider)
    system = SystemPrompt("You are a test.")
    messages = [Message("user", "hi")]
    plain = json.loads(provider.body(ProviderRequest("fake-model", system, messages)))
    assert "tools" not in plain and plain["messages"][-1] == {"role": "user", "content": "hi"}
    # Past the cache's size, and with every old schema dropped so its id can be handed out again.
    for n in range(600):
        schema = {"type": "object", "properties": {f"field_{n}": {"type": "string"}}}
        tools = [
            ToolSpec("lookup", "looks things up", schema),
            ToolSpec("other", "ünïcode ✓", {"type": "object"}),
        ]
        body = json.loads(provider.body(ProviderRequest("fake-model", system, messages, tools)))
        assert [t["function"]["parameters"] for t in body["tools"]] == [schema, {"type": "object"}], n
        assert body["tools"][1]["function"]["description"] == "ünïcode ✓"
        assert body["model"] == "fake-model" and body["stream"] is True
