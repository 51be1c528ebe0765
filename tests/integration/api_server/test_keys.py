"""The API key at start-up, through the whole gateway: weak keys stop it with one clear line; a fresh home
gets a strong key generated into `.env`, which no log ever shows."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import aiohttp
import pytest

from hermes.cli.common import EXIT_CONFIG
from hermes.config import ConfigError
from tests.fakes.llm import FakeLLM
from tests.harness.gateway import (
    gateway_in_process,
    llm_config,
    start_gateway_process,
    wait_for_log,
    write_home,
)

LISTENING = re.compile(r"api_server: listening on (http://\S+)")


def api_home(tmp_path: Path, llm: FakeLLM, env: dict[str, str], store_env: dict[str, str]) -> Path:
    return write_home(
        tmp_path / "home",
        config={"model": llm_config(llm.base_url), "api_server": {"enabled": True, "port": 0}},
        env={**env, **store_env},
    )


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("short-key", "too short (9 characters; at least 16"),
        ("your-secret-key-here", "placeholder"),
        ("CHANGEME_CHANGEME_CHANGEME", "placeholder"),
        ("aaaaaaaaaaaaaaaaaaaaaaaa", "too simple"),
    ],
)
@pytest.mark.one_engine("the key is refused before any store is opened")
async def test_weak_key_refuses_to_start(tmp_path: Path, llm: FakeLLM, key: str, problem: str) -> None:
    home = api_home(tmp_path, llm, {"API_SERVER_KEY": key}, {})
    with pytest.raises(ConfigError) as caught:
        async with gateway_in_process(home) as running:
            await running.connected("api_server")
    [line] = caught.value.problems
    assert line.startswith("config error: api_server.key = (redacted) (from .env as API_SERVER_KEY): ")
    assert problem in line
    assert key not in line


@pytest.mark.one_engine("the key is refused before any store is opened")
async def test_weak_key_stops_the_daemon_with_exit_code_78(tmp_path: Path, llm: FakeLLM) -> None:
    home = api_home(tmp_path, llm, {"API_SERVER_KEY": "your-api-key-goes-here"}, {})
    process = start_gateway_process(home)
    assert process.proc.wait(timeout=30) == EXIT_CONFIG
    log = process.log()
    assert "api_server.key" in log and "placeholder" in log
    assert "your-api-key-goes-here" not in log
    assert "listening on" not in log


async def test_missing_key_is_generated_into_env_and_never_logged(
    tmp_path: Path, llm: FakeLLM, store_env: dict[str, str]
) -> None:
    home = api_home(tmp_path, llm, {"GATEWAY_ALLOW_ALL_USERS": "false", "API_SERVER_KEY": ""}, store_env)
    env_file = home / ".env"
    process = start_gateway_process(home)
    try:
        await wait_for_log(process, "api_server: listening on")
        match = LISTENING.search(process.log())
        assert match is not None
        url = match.group(1)
        lines = env_file.read_text().splitlines()
        assert lines[0] == "GATEWAY_ALLOW_ALL_USERS=false"
        [entry] = [line for line in lines if line.startswith("API_SERVER_KEY")]
        key = entry.removeprefix("API_SERVER_KEY=")
        assert re.fullmatch(r"[0-9a-f]{64}", key)
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"}) as response:
                assert response.status == 200
            async with http.get(f"{url}/v1/models") as response:
                assert response.status == 401
    finally:
        assert process.terminate() == 0
    logs = [process.log(), *(p.read_text() for p in (home / "logs").glob("*.log"))]
    assert str(env_file) in logs[0]
    assert all(key not in text for text in logs)

    # The next start uses the saved key instead of making another.
    before = env_file.read_text()
    again = start_gateway_process(home)
    try:
        await wait_for_log(again, "api_server: listening on", timeout=30)
    finally:
        again.terminate()
    assert env_file.read_text() == before
    # Both runs write to the same console log: the one generation message is from the first run.
    assert again.log().count("generated one") == 1
