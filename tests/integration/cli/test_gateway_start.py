"""What `hermes gateway run` and `hermes doctor` say about a home before serving anything: nothing to
serve, a home already in use, typos, secrets others may read, and hints that name the real home."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.fakes.llm import FakeLLM
from tests.harness.gateway import HERMES, llm_config, start_gateway_process, wait_for_log, write_home

TEST_PLATFORM = {"plugins": ["hermes.testing"], "allowed_users": ["@me:example.org"]}


def run(home: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATRIX_", "MATTERMOST_", "API_SERVER_"))}
    return subprocess.run(
        [HERMES, *args],
        env={**env, "HERMES_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def test_a_gateway_with_nothing_to_serve_stops_at_once_with_exit_78(tmp_path: Path) -> None:
    home = tmp_path / "home"
    started = time.monotonic()
    result = run(home, "gateway", "run")
    assert time.monotonic() - started < 20
    assert result.returncode == 78
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    assert lines[0].endswith(
        "no platform is enabled, so there is nothing to serve: run `hermes gateway setup`, "
        f"or set API_SERVER_ENABLED=true in {home / '.env'}"
    )
    assert not (home / "state.db").exists()


async def test_a_second_gateway_is_refused_and_a_killed_ones_lock_is_taken_over(tmp_path: Path) -> None:
    async with FakeLLM() as llm:
        home = write_home(
            tmp_path / "home", config={"model": llm_config(llm.base_url), "gateway": TEST_PLATFORM}
        )
        first = start_gateway_process(home)
        try:
            await wait_for_log(first, "gateway running")
            second = run(home, "gateway", "run")
            assert second.returncode == 1
            assert f"HERMES_HOME {home} is in use by the gateway with PID {first.proc.pid}" in second.stdout
            assert len(second.stdout.strip().splitlines()) == 1, second.stdout
        finally:
            first.kill()
        # The killed gateway's file still names it; the lock went with the process.
        assert (home / "gateway.lock").read_text().strip() == str(first.proc.pid)
        third = start_gateway_process(home)
        try:
            async with asyncio.timeout(30):
                while third.log().count("gateway running") < 2:
                    assert third.proc.poll() is None, third.log()
                    await asyncio.sleep(0.05)
            assert (home / "gateway.lock").read_text().strip() == str(third.proc.pid)
            assert third.terminate() == 0
        finally:
            if third.proc.poll() is None:
                third.kill()
    # A clean exit leaves no PID behind, in either lock.
    assert (home / "gateway.lock").read_text() == ""
    assert (home / "cron.lock").read_text() == ""


async def test_typos_and_readable_secrets_are_warned_about_at_start_and_in_doctor(tmp_path: Path) -> None:
    async with FakeLLM() as llm:
        home = write_home(
            tmp_path / "home",
            config={"model": llm_config(llm.base_url), "gateway": TEST_PLATFORM, "matrx": {"x": 1}},
            env={"MATRIX_ALOWED_USERS": "@me:example.org", "MY_OWN_VARIABLE": "kept quiet"},
        )
        (home / ".env.d").mkdir()
        (home / ".env.d" / "50-ops.env").write_text("API_SERVER_PROT=9000\n")
        (home / ".env.d" / "50-ops.env").chmod(0o600)
        (home / ".env").chmod(0o644)
        process = start_gateway_process(home)
        try:
            await wait_for_log(process, "gateway running")
            log = process.log()
        finally:
            assert process.terminate() == 0
        doctor = run(home, "doctor")
    expected = [
        ".env: MATRIX_ALOWED_USERS is not a setting; ignored (did you mean MATRIX_ALLOWED_USERS?)",
        ".env.d/50-ops.env: API_SERVER_PROT is not a setting; ignored (did you mean API_SERVER_PORT?)",
        "config.yaml: unknown keys ignored: matrx (did you mean matrix?)",
    ]
    for warning in expected:
        assert log.count(warning) == 1, log
        assert warning in doctor.stdout
    assert "MY_OWN_VARIABLE" not in log + doctor.stdout
    env_file = home / ".env"
    assert f"{env_file} has mode 644 and holds secrets that others may read: chmod 600 {env_file}" in log
    assert f"✗ .env has mode 644; it holds secrets — fix: chmod 600 {env_file}" in doctor.stdout
    fix = f"fix or remove it in {home / '.env.d' / '50-ops.env'}"
    assert f"✗ {expected[1]} — fix: {fix}" in doctor.stdout


def test_a_variable_config_yaml_refers_to_is_not_a_typo(tmp_path: Path) -> None:
    home = write_home(
        tmp_path / "home",
        config={"matrix": {"password": "${MATRIX_BOT_SECRET}"}},
        env={"MATRIX_BOT_SECRET": "hunter2hunter2"},
    )
    result = run(home, "config", "show")
    assert "MATRIX_BOT_SECRET" not in result.stdout


@pytest.mark.parametrize("provider", ["openrouter", "anthropic"])
def test_doctor_hints_name_the_real_home(tmp_path: Path, provider: str) -> None:
    home = write_home(
        tmp_path / "elsewhere",
        config={"model": {"provider": provider}},
        env={"MATRIX_HOMESERVER": "http://127.0.0.1:9", "MATRIX_ACCESS_TOKEN": "syt_x"},
    )
    result = run(home, "doctor")
    assert "~/.hermes" not in result.stdout
    assert f"fix: set it in {home / '.env'} or {home / 'config.yaml'}" in result.stdout
    assert f"fix: set MATRIX_ALLOWED_USERS=@you:your.server in {home / '.env'}" in result.stdout
