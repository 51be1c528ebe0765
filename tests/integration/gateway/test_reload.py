"""Reloading the settings of a running gateway: `hermes gateway reload` (through the control socket) and
SIGHUP. Allowlists apply at once, a platform whose settings changed reconnects, a run in flight finishes,
and a configuration the gateway would not start with is refused while the old one stays in force."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp

from hermes.testing import TestPlatform
from tests.fakes.llm import FakeLLM, Text
from tests.harness.gateway import (
    HERMES,
    gateway_in_process,
    llm_config,
    start_gateway_process,
    wait_for_log,
    write_home,
)
from tests.harness.synapse_server import free_port

KEY = "reload-test-key-5f2d8c1e9a7b4036"


def env_text(store_env: dict[str, str], port: int, allowed: str) -> dict[str, str]:
    return {
        **store_env,
        "GATEWAY_ALLOWED_USERS": allowed,
        "API_SERVER_ENABLED": "true",
        "API_SERVER_PORT": str(port),
        "API_SERVER_KEY": KEY,
    }


async def reload_cli(home: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_SERVER_", "GATEWAY_"))}
    proc = await asyncio.create_subprocess_exec(
        HERMES,
        "gateway",
        "reload",
        env={**env, "HERMES_HOME": str(home)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def health(port: int) -> int | None:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/health") as response:
            return response.status
    except aiohttp.ClientConnectionError:
        return None


async def test_reload_applies_allowlists_reconnects_changed_platforms_and_spares_runs(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    first_port, second_port = free_port(), free_port()
    async with FakeLLM() as llm:
        llm.script(Text("the slow answer", delay=1.5))
        config = {"model": llm_config(llm.base_url), "gateway": {"plugins": ["hermes.testing"]}}
        home = write_home(tmp_path / "home", config=config, env=env_text(store_env, first_port, "@alice"))
        async with gateway_in_process(home) as gateway:
            await gateway.connected("test")
            await gateway.connected("api_server")
            assert gateway.gateway.hub is not None
            platform = gateway.gateway.hub.platforms["test"]
            assert isinstance(platform, TestPlatform)
            await platform.push("a question that takes a while", user="@alice")
            await llm.wait_for_requests(1, timeout=10)

            write_home(home, env=env_text(store_env, second_port, "@alice,@bob"))
            code, out, err = await reload_cli(home)
            assert code == 0, err
            assert out.splitlines() == [
                "Reloaded: api_server.port, gateway.allowed_users",
                "  reconnected: api_server",
            ]
            # The run in flight was not touched: its answer arrives.
            await platform.wait_for(lambda: any(m.text == "the slow answer" for m in platform.messages), 10)
            # Bob is let in at once.
            await platform.push("hello from bob", user="@bob")
            await platform.wait_for(lambda: any(m.text == "hello from bob" for m in platform.messages), 10)
            # The API server moved to its new port.
            await gateway.connected("api_server")
            assert await health(second_port) == 200
            assert await health(first_port) is None

            # A configuration the gateway would not start with is refused; the old one stays.
            (home / ".env").write_text((home / ".env").read_text().replace(str(second_port), "eighty"))
            code, out, err = await reload_cli(home)
            assert code == 78 and out == ""
            assert err.strip().splitlines() == [
                "reload refused, the settings in force stay: config error: api_server.port = 'eighty' "
                "(from .env as API_SERVER_PORT): Input should be a valid integer, unable to parse string "
                "as an integer"
            ]
            assert await health(second_port) == 200
            assert gateway.gateway.hub.is_allowed("test", "@bob")


async def test_sighup_reloads_the_settings(tmp_path: Path, store_env: dict[str, str]) -> None:
    async with FakeLLM() as llm:
        config = {"model": llm_config(llm.base_url), "gateway": {"plugins": ["hermes.testing"]}}
        home = write_home(
            tmp_path / "home", config=config, env={**store_env, "GATEWAY_ALLOWED_USERS": "@alice"}
        )
        process = start_gateway_process(home)
        try:
            await wait_for_log(process, "gateway running")
            write_home(home, env={**store_env, "GATEWAY_ALLOWED_USERS": "@alice,@bob"})
            process.proc.send_signal(signal.SIGHUP)
            await wait_for_log(process, "reloaded: gateway.allowed_users")
            write_home(home, env={**store_env, "GATEWAY_ALLOWED_USERS": "@carol"})
            (home / "config.yaml").write_text("model: [not, a, mapping\n")
            process.proc.send_signal(signal.SIGHUP)
            await wait_for_log(process, "reload refused, the settings in force stay:")
            assert process.proc.poll() is None
        finally:
            assert process.terminate() == 0
