"""The API server inside a whole gateway: enabled by API_SERVER_ENABLED, stopped gracefully with it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import openai
import pytest

from hermes.platforms.api_server import ApiServerPlatform
from tests.fakes.llm import FakeLLM, Text
from tests.harness.gateway import gateway_in_process, llm_config, write_home

from .conftest import KEY, Server


def home_for(tmp_path: Path, llm: FakeLLM, store_env: dict[str, str], **api_server: object) -> Path:
    return write_home(
        tmp_path / "home",
        config={"model": llm_config(llm.base_url), "api_server": {"port": 0, **api_server}},
        env={**store_env, "API_SERVER_KEY": KEY},
    )


async def test_enabled_by_environment_and_stops_gracefully_with_the_gateway(
    tmp_path: Path, llm: FakeLLM, store_env: dict[str, str]
) -> None:
    llm.script(Text("answered during shutdown", delay=0.3))
    home = home_for(tmp_path, llm, store_env, shutdown_grace_seconds=5)
    async with gateway_in_process(home, {"API_SERVER_ENABLED": "true"}) as running:
        await running.connected("api_server")
        platform = running.gateway.supervisors["api_server"].platform
        assert isinstance(platform, ApiServerPlatform)
        url = platform.url
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
        answer = asyncio.create_task(
            client.chat.completions.create(model="hermes-agent", messages=[{"role": "user", "content": "hi"}])
        )
        await llm.wait_for_requests(1)
        await running.stop()
    completion = await answer
    assert completion.choices[0].message.content == "answered during shutdown"
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(f"{url}/health") as response:
                raise AssertionError(f"the stopped gateway still answered {response.status}")
        except aiohttp.ClientConnectionError:
            pass


async def test_a_shutdown_refuses_new_requests_and_cancels_late_runs_after_one_grace_period(
    server: Server,
) -> None:
    server.llm.script(Text("finishes in time", delay=0.2), Text("far too slow", delay=30))
    client = server.client()
    prompt = [{"role": "user", "content": "hi"}]
    # Which of the two gets the slow answer is the fake's choice: it answers in arrival order.
    in_flight = [
        asyncio.create_task(client.chat.completions.create(model="hermes-agent", messages=prompt))
        for _ in range(2)
    ]
    await server.llm.wait_for_requests(2)
    started = time.monotonic()
    draining = asyncio.create_task(server.hub.drain(1.0))
    await asyncio.sleep(0)

    with pytest.raises(openai.APIStatusError) as refused:
        await client.chat.completions.create(model="hermes-agent", messages=prompt)
    assert refused.value.status_code == 503 and "shutting down" in refused.value.message
    assert len(server.llm.chat_requests) == 2

    outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
    answered = [o.choices[0].message.content for o in outcomes if not isinstance(o, BaseException)]
    cancelled = [o for o in outcomes if isinstance(o, openai.APIStatusError)]
    assert answered == ["finishes in time"]
    assert len(cancelled) == 1 and cancelled[0].status_code == 503
    await draining
    assert 1.0 <= time.monotonic() - started < 3.0
    assert server.hub.runs_in_flight == 0
