"""`hermes gateway status` against a running gateway: one platform up, two failing in different ways."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from hermes.testing import TestPlatform
from tests.fakes.llm import FakeLLM
from tests.harness.gateway import HERMES, RunningGateway, gateway_in_process, llm_config, write_home

PLUGINS = ["hermes.testing", "tests.integration.cli.failing_platforms"]


async def hermes(home: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        HERMES,
        *args,
        env={**os.environ, "HERMES_HOME": str(home), "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def until(condition: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)


def platform_of(gateway: RunningGateway) -> TestPlatform:
    assert gateway.gateway.hub is not None
    platform = gateway.gateway.hub.platforms["test"]
    assert isinstance(platform, TestPlatform)
    return platform


async def test_status_of_a_running_gateway(tmp_path: Path) -> None:
    async with FakeLLM(instant=True) as llm:
        home = write_home(
            tmp_path / "home",
            config={
                "model": llm_config(llm.base_url),
                "gateway": {"plugins": PLUGINS, "reconnect_min_seconds": 0.05, "reconnect_max_seconds": 0.2},
            },
            env={"GATEWAY_ALLOWED_USERS": "@alice"},
        )
        async with gateway_in_process(home) as gateway:
            await gateway.connected("test")
            supervisors = gateway.gateway.supervisors
            await until(lambda: supervisors["refusing"].state == "stopped")
            await until(lambda: supervisors["unreachable"].state == "retrying")
            platform = platform_of(gateway)
            before = time.time()
            await platform.push("hello there")
            await platform.wait_for_messages(1)
            hub = gateway.gateway.hub
            assert hub is not None
            await until(lambda: not hub.runs_in_flight)
            due = time.time() + 3600
            await hub.store.jobs.create(
                name="digest",
                schedule_kind="interval",
                schedule_value="3600",
                prompt="summarise",
                target={"platform": "test", "chat_id": "home"},
                next_run_at=due,
                enabled=True,
                grace_seconds=300,
            )

            code, out, err = await hermes(home, "gateway", "status")
            assert code == 0, err
            lines = out.splitlines()
            assert lines[0].startswith("Hermes gateway 0.1.0: running (pid ")
            row = {line.split()[1]: line for line in lines if line.startswith("  ") and len(line.split()) > 2}
            assert row["test"].split()[:3] == ["●", "test", "connected"]
            assert "last event " in row["test"] and "s ago" in row["test"]
            assert row["refusing"].split()[:3] == ["○", "refusing", "stopped"]
            assert row["refusing"].endswith("credentials rejected: M_UNKNOWN_TOKEN: invalid access token")
            assert row["unreachable"].split()[:3] == ["◐", "unreachable", "reconnecting"]
            assert "last event never — cannot connect: server unreachable" in row["unreachable"]
            assert "Sessions        1 open, 1 in all" in lines
            assert "Runs in flight  0" in lines and "Inbox backlog   0" in lines
            assert any(
                line.startswith("Scheduled jobs  1 active, 0 paused; next: 'digest' ") for line in lines
            ), out

            code, out, err = await hermes(home, "gateway", "status", "--json")
            assert code == 0, err
            report = json.loads(out)
            assert report["platforms"]["test"]["last_event_at"] >= before
            assert report["platforms"]["refusing"]["supervisor_state"] == "stopped"
            assert report["jobs"]["next"]["at"] == due
            assert report["pid"] == os.getpid()

        code, out, err = await hermes(home, "gateway", "status")
        assert code == 1 and out == ""
        assert "The gateway is not running" in err


async def test_status_when_nothing_ever_ran(tmp_path: Path) -> None:
    code, out, err = await hermes(tmp_path / "nowhere", "gateway", "status")
    assert code == 1 and out == ""
    assert f"nothing answers at {tmp_path / 'nowhere' / 'gateway.sock'}" in err


async def test_api_requests_count_as_events_and_sessions(tmp_path: Path) -> None:
    import openai

    key = "status-test-key-8c1e9a7b40365f2d"
    async with FakeLLM(instant=True) as llm:
        home = write_home(
            tmp_path / "home",
            config={"model": llm_config(llm.base_url)},
            env={"API_SERVER_ENABLED": "true", "API_SERVER_PORT": "0", "API_SERVER_KEY": key},
        )
        async with gateway_in_process(home) as gateway:
            await gateway.connected("api_server")
            assert gateway.gateway.hub is not None
            url = gateway.gateway.hub.platforms["api_server"].url  # type: ignore[attr-defined]
            client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
            before = time.time()
            for _ in range(3):
                await client.chat.completions.create(
                    model="hermes-agent", messages=[{"role": "user", "content": "hi"}]
                )
            await client.chat.completions.create(
                model="hermes-agent",
                messages=[{"role": "user", "content": "remember me"}],
                extra_headers={"X-Hermes-Session-Id": "named-one"},
            )
            await client.close()

            code, out, err = await hermes(home, "gateway", "status", "--json")
            assert code == 0, err
            report = json.loads(out)
            assert report["platforms"]["api_server"]["last_event_at"] >= before
            # Every API exchange is a session now, those without an id too (issue 14.2).
            assert report["sessions"] == {"open": 4, "total": 4}
            code, out, err = await hermes(home, "gateway", "status")
            row = next(line for line in out.splitlines() if "api_server" in line and "connected" in line)
            assert "last event never" not in row and "s ago" in row
            assert "Sessions        4 open, 4 in all" in out.splitlines()
