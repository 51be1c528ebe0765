"""A provider that fails, as the official `openai` client (with its own retries left on) sees it: our retries
are the only ones, a provider's refusal is told apart from the caller's mistakes, and retrying stops within
the time budget."""

from __future__ import annotations

import time

import openai
import pytest

from tests.fakes.llm import Error, FakeLLM
from tests.harness.gateway import llm_config

from .conftest import Server

USER = [{"role": "user", "content": "hello there"}]


async def test_retries_exhausted_tell_the_client_not_to_retry(start_server, llm: FakeLLM) -> None:
    server: Server = await start_server(config={"model": llm_config(llm.base_url, max_retries=2)})
    llm.script(*[Error(500, "upstream broke", retry_after=0.01)] * 20)
    # The client's default: two retries of its own on a 5xx unless told otherwise.
    client = server.client(max_retries=2)
    with pytest.raises(openai.InternalServerError) as caught:
        await client.chat.completions.create(model="hermes-agent", messages=USER)
    assert caught.value.status_code == 502
    assert caught.value.response.headers["x-should-retry"] == "false"
    # Our three attempts, not three times three.
    assert len(llm.chat_requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_a_provider_refusal_is_not_retried_and_says_who_refused(
    start_server, llm: FakeLLM, status: int
) -> None:
    server: Server = await start_server(config={"model": llm_config(llm.base_url, max_retries=4)})
    llm.script(*[Error(status, "no such thing")] * 5)
    with pytest.raises(openai.APIStatusError) as caught:
        await server.client(max_retries=2).chat.completions.create(model="hermes-agent", messages=USER)
    error = caught.value
    # Not a 401/403/404 of ours: the caller's key and route are fine, the provider said no.
    assert error.status_code == 502
    assert error.response.headers["x-should-retry"] == "false"
    body = error.body
    assert isinstance(body, dict)
    assert body["code"] == "provider_refused"
    assert body["provider_status"] == status
    assert "provider" in body["message"] and "refused" in body["message"]
    assert len(llm.chat_requests) == 1


async def test_all_retries_fit_in_the_time_budget(start_server, llm: FakeLLM) -> None:
    server: Server = await start_server(
        config={"model": llm_config(llm.base_url, max_retries=20, retry_max_seconds=1.0)}
    )
    llm.script(*[Error(503, "overloaded", retry_after=0.3)] * 30)
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError):
        await server.client(max_retries=2).chat.completions.create(model="hermes-agent", messages=USER)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5
    # 0.3 s apart within one second: four attempts at most, never the twenty-one allowed by count.
    assert 2 <= len(llm.chat_requests) <= 4
