"""The API server inside a whole gateway: enabled by API_SERVER_ENABLED, stopped gracefully with it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import openai

from hermes.platforms.api_server import ApiServerPlatform
from tests.fakes.llm import FakeLLM, Text
from tests.harness.gateway import gateway_in_process, llm_config, write_home

from .conftest import KEY


def home_for(tmp_path: Path, llm: FakeLLM, **api_server: object) -> Path:
    return write_home(
        tmp_path / "home",
        config={"model": llm_config(llm.base_url), "api_server": {"port": 0, **api_server}},
        env={"API_SERVER_KEY": KEY},
    )


async def test_enabled_by_environment_and_stops_gracefully_with_the_gateway(
    tmp_path: Path, llm: FakeLLM
) -> None:
    llm.script(Text("answered during shutdown", delay=0.3))
    home = home_for(tmp_path, llm, shutdown_grace_seconds=5)
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
