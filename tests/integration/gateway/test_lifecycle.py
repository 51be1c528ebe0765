"""`hermes gateway run`: starting, supervising platforms, and shutting down gracefully."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hermes.config import load_config
from hermes.gateway import runner
from hermes.store import Store
from hermes.testing import TestPlatform
from tests.fakes.llm import FakeLLM, Stall, Text
from tests.harness.gateway import (
    HERMES,
    GatewayProcess,
    gateway_in_process,
    llm_config,
    start_gateway_process,
    wait_for_log,
    write_home,
)

from . import plugin_platforms


def home_with(tmp_path: Path, llm: FakeLLM, env: dict[str, str], *plugins: str, **gateway: object) -> Path:
    return write_home(
        tmp_path / "home",
        config={
            "model": llm_config(llm.base_url),
            "gateway": {"plugins": list(plugins), "allow_all_users": True, **gateway},
        },
        env=env,
    )


async def test_sigterm_lets_the_run_in_flight_finish(
    tmp_path: Path, llm: FakeLLM, store_env: dict[str, str]
) -> None:
    llm.script(Text("a reply that takes a while to stream", chunk_delay=0.1))
    home = home_with(tmp_path, llm, store_env, "hermes.testing")
    async with gateway_in_process(home) as running:
        await running.connected("test")
        running.gateway.install_signal_handlers()
        try:
            platform = running.gateway.supervisors["test"].platform
            assert isinstance(platform, TestPlatform)
            await platform.push("tell me slowly")
            await llm.wait_for_requests(1)
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(running.task, 10)
        finally:
            loop = asyncio.get_running_loop()
            loop.remove_signal_handler(signal.SIGTERM)
            loop.remove_signal_handler(signal.SIGINT)
        assert platform.messages[-1].text == "a reply that takes a while to stream"
        assert platform.started is False


async def test_runs_past_the_grace_period_resume_after_restart(
    tmp_path: Path, llm: FakeLLM, store_env: dict[str, str]
) -> None:
    llm.script(Stall(seconds=60, after=1))
    home = home_with(tmp_path, llm, store_env, "hermes.testing", shutdown_grace_seconds=0.2)
    async with gateway_in_process(home) as running:
        await running.connected("test")
        platform = running.gateway.supervisors["test"].platform
        await platform.push("this will not finish", event_id="slow-1")
        await llm.wait_for_requests(1)
        await running.stop(timeout=5)
    async with gateway_in_process(home) as running:
        await running.connected("test")
        platform = running.gateway.supervisors["test"].platform
        await platform.wait_for(lambda: [m.text for m in platform.messages] == ["this will not finish"])


async def test_unreachable_platform_is_retried_while_others_run(
    tmp_path: Path, llm: FakeLLM, store_env: dict[str, str]
) -> None:
    plugin_platforms.FlakyPlatform.attempts = 0
    home = home_with(
        tmp_path, llm, store_env, "hermes.testing", plugin_platforms.__name__, reconnect_min_seconds=0.01
    )
    async with gateway_in_process(home) as running:
        await running.connected("test")
        test_platform = running.gateway.supervisors["test"].platform
        await test_platform.push("still here?")
        await test_platform.wait_for(lambda: [m.text for m in test_platform.messages] == ["still here?"])
        await running.connected("flaky", timeout=10)
        assert plugin_platforms.FlakyPlatform.attempts == 4
        assert running.gateway.supervisors["rejected"].state == "stopped"


async def test_rejected_credentials_are_reported_once_and_not_retried(
    tmp_path: Path, llm: FakeLLM, store_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    plugin_platforms.RejectedPlatform.attempts = 0
    home = home_with(tmp_path, llm, store_env, plugin_platforms.__name__, reconnect_min_seconds=0.01)
    async with gateway_in_process(home) as running:
        await running.connected("flaky", timeout=10)
        await asyncio.sleep(0.2)
        supervisor = running.gateway.supervisors["rejected"]
        assert supervisor.state == "stopped"
        assert "credentials rejected" in (supervisor.platform.problem or "")
    assert plugin_platforms.RejectedPlatform.attempts == 1
    rejected_lines = [r for r in caplog.records if "rejected" in r.getMessage() and r.levelname == "ERROR"]
    assert len(rejected_lines) == 1


def test_gateway_process_exits_zero_on_sigterm(tmp_path: Path, store_env: dict[str, str]) -> None:
    home = write_home(
        tmp_path / "home",
        config={
            "model": {"provider": "custom", "base_url": "http://127.0.0.1:9"},
            "gateway": {"plugins": ["hermes.testing"]},
        },
        env=store_env,
    )
    process = start_gateway_process(home)
    asyncio.run(wait_for_log(process, "gateway running"))
    assert process.terminate() == 0
    assert "gateway stopped" in process.log()
    # On PostgreSQL the home holds no state.db: nothing of the store is left behind on this host.
    assert (home / "state.db").exists() is not bool(store_env)
    assert (home / "logs" / "gateway.log").exists()


@pytest.mark.one_engine("the configuration is refused before any store is opened")
def test_bad_config_exits_78_with_one_line(tmp_path: Path) -> None:
    home = write_home(tmp_path / "home", env={"API_SERVER_PORT": "eighty"})
    result = subprocess.run(
        [HERMES, "gateway", "run"],
        env={**os.environ, "HERMES_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [
        "config error: api_server.port = 'eighty' (from .env as API_SERVER_PORT): "
        "Input should be a valid integer, unable to parse string as an integer"
    ]


@pytest.mark.one_engine("the command line's alias; `gateway run` itself is tested on both")
def test_gateway_alias_runs_as_gateway_run(tmp_path: Path) -> None:
    home = write_home(
        tmp_path / "home",
        config={
            "model": {"provider": "custom", "base_url": "http://127.0.0.1:9"},
            "gateway": {"plugins": ["hermes.testing"]},
        },
    )
    env = {**os.environ, "HERMES_HOME": str(home)}
    proc = subprocess.Popen(
        [HERMES, "gateway"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    process = GatewayProcess(proc, home, home / "logs" / "gateway.log")
    try:
        asyncio.run(wait_for_log(process, "gateway running"))
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ")
        assert b"hermes gateway run" in cmdline
    finally:
        assert process.terminate() == 0


@pytest.mark.one_engine("prints the version, opens no store")
def test_version_line() -> None:
    result = subprocess.run([HERMES, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("Hermes Gateway v0.1.0 (")
    assert result.stdout.strip().endswith(")")


async def test_an_idle_gateway_stops_promptly(
    tmp_path: Path, llm: FakeLLM, store_env: dict[str, str]
) -> None:
    home = home_with(tmp_path, llm, store_env, "hermes.testing")
    for _ in range(3):
        async with gateway_in_process(home) as running:
            await asyncio.wait_for(running.gateway.started.wait(), 10)
            started = asyncio.get_running_loop().time()
            await running.stop(timeout=10)
            assert asyncio.get_running_loop().time() - started < 1.0


async def test_a_fresh_home_without_a_model_key_starts_and_explains(
    tmp_path: Path, store_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    home = write_home(
        tmp_path / "home",
        config={"gateway": {"plugins": ["hermes.testing"], "allow_all_users": True}},
        env=store_env,
    )
    async with gateway_in_process(home, {"OPENROUTER_API_KEY": ""}) as running:
        await running.connected("test")
        platform = running.gateway.supervisors["test"].platform
        await platform.push("hello?")
        await platform.wait_for(
            lambda: bool(platform.messages) and "OPENROUTER_API_KEY" in platform.messages[0].text
        )
    assert "the model is not set up" in platform.messages[0].text
    assert (
        sum("the model is not set up" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
        == 1
    )


# Starts and never answers MCP's handshake.
HANGING_SERVER = "import time; time.sleep(99)"


async def test_a_hanging_mcp_server_does_not_hold_the_platforms_back(
    tmp_path: Path, llm: FakeLLM, store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "MCP_START_WAIT_SECONDS", 0.3)
    llm.script(Text("answered meanwhile"))
    home = write_home(
        tmp_path / "home",
        config={
            "model": llm_config(llm.base_url),
            "gateway": {"plugins": ["hermes.testing"], "allow_all_users": True},
            "mcp_servers": {"stuck": {"command": sys.executable, "args": ["-c", HANGING_SERVER]}},
        },
        env=store_env,
    )
    started = time.monotonic()
    async with gateway_in_process(home) as running:
        await running.connected("test", timeout=10)
        assert time.monotonic() - started < 5
        platform = running.gateway.supervisors["test"].platform
        await platform.push("anyone there?")
        await platform.wait_for(lambda: [m.text for m in platform.messages] == ["answered meanwhile"])
        await running.stop(timeout=10)


async def test_the_media_cache_is_pruned_when_the_gateway_starts(
    tmp_path: Path, llm: FakeLLM, store_env: dict[str, str]
) -> None:
    home = home_with(tmp_path, llm, store_env, "hermes.testing", media_cache_days=7)
    cache = home / "cache" / "media" / "matrix"
    cache.mkdir(parents=True)
    stale, recent = cache / "stale.png", cache / "recent.png"
    for path, age_days in ((stale, 8), (recent, 1)):
        path.write_bytes(b"png")
        when = time.time() - age_days * 86400
        os.utime(path, (when, when))
    async with gateway_in_process(home) as running:
        await running.connected("test")
        async with asyncio.timeout(5):
            while stale.exists():
                await asyncio.sleep(0.02)
        assert recent.exists()


async def test_old_finished_inbox_events_are_pruned_when_the_gateway_starts(
    tmp_path: Path, llm: FakeLLM, store_env: dict[str, str]
) -> None:
    home = home_with(tmp_path, llm, store_env, "hermes.testing", inbox_retention_days=7)
    eight_days_ago = time.time() - 8 * 86400
    loaded = load_config({"HERMES_HOME": str(home)})
    store = await Store.configured(loaded.settings.store, loaded.paths.state_db, clock=lambda: eight_days_ago)
    try:
        await store.inbox.accept("test", "old-answered", {"text": "hi"}, cursor=None)
        await store.inbox.mark_done("test", "old-answered", [])
    finally:
        await store.close()
    async with gateway_in_process(home) as running:
        await running.connected("test")
        assert running.gateway.hub is not None
        inbox = running.gateway.hub.store.inbox
        async with asyncio.timeout(5):
            while await inbox.get("test", "old-answered") is not None:
                await asyncio.sleep(0.02)
