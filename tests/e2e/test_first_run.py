"""A newcomer's first run, on a fresh copy of the checkout: `make run` shows what it installs, says where
the `hermes` command is, and leaves a home on which every later command agrees with it; `uv tool install`
puts a working `hermes` on the PATH."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.harness.synapse_server import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The checkout's files as a fresh clone has them: no .venv. The pinned uv in .tools/ is shared, since
    installing it needs the network and says nothing about Hermes."""
    copy = tmp_path_factory.mktemp("clone")
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = REPO / os.fsdecode(name)
        if source.is_file():
            target = copy / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    (copy / ".tools").symlink_to(REPO / ".tools")
    yield copy


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MATRIX_", "MATTERMOST_", "API_SERVER_", "HERMES_", "VIRTUAL_ENV", "MAKE"))
    }
    return {**env, "HERMES_HOME": str(home), **extra}


def hermes(clone: Path, home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(clone / ".venv" / "bin" / "hermes"), *args],
        env=clean_env(home, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )


async def read_until(stream: asyncio.StreamReader, text: str, seen: list[str]) -> None:
    while not any(text in line for line in seen):
        line = await stream.readline()
        if not line:
            raise AssertionError(f"make run ended before printing {text!r}:\n{''.join(seen)}")
        seen.append(line.decode(errors="replace"))


@pytest.mark.timeout(400)
async def test_make_run_shows_progress_and_leaves_a_home_every_command_agrees_with(
    clone: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    port = free_port()
    make = await asyncio.create_subprocess_exec(
        "make",
        "run",
        cwd=clone,
        env=clean_env(home, API_SERVER_PORT=str(port)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert make.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(360):
            await read_until(make.stdout, f"listening on http://127.0.0.1:{port}", seen)
        output = "".join(seen)
        # Progress: a line per step, and uv's own report of what it installed.
        assert "==> installing Hermes and its dependencies into .venv/" in output
        assert "Installed " in output
        # Where the command is, on this first run.
        assert f"the hermes command is {clone}/.venv/bin/hermes" in output
        assert "source .venv/bin/activate" in output

        env_lines = (home / ".env").read_text().splitlines()
        assert "API_SERVER_ENABLED=true" in env_lines
        assert any(line.startswith("API_SERVER_KEY=") for line in env_lines)

        got = hermes(clone, home, "config", "get", "api_server.enabled")
        assert got.stdout.splitlines() == ["true", "# api_server.enabled [.env]"]
        # The README's way to the key opens the API.
        key = hermes(clone, home, "config", "get", "API_SERVER_KEY", "--reveal").stdout.splitlines()[0]
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {key}"}
            ) as response,
        ):
            assert response.status == 200
        doctor = hermes(clone, home, "doctor", API_SERVER_PORT=str(port))
        assert "no platform is enabled" not in doctor.stdout
        assert f"✓ api_server: 127.0.0.1:{port}, key set" in doctor.stdout

        # A second gateway on the same home is refused, naming the first one.
        second = hermes(clone, home, "gateway", "run")
        pid = int((home / "gateway.lock").read_text())
        assert "gateway" in await asyncio.to_thread(Path(f"/proc/{pid}/cmdline").read_text)
        assert second.returncode == 1
        assert f"is in use by the gateway with PID {pid}" in second.stdout
        assert len(second.stdout.strip().splitlines()) == 1, second.stdout
    finally:
        if make.returncode is None:
            os.killpg(make.pid, signal.SIGTERM)
        await asyncio.wait_for(make.wait(), 60)
    # A second `make run` installs nothing new and does not repeat where the command is.
    again = await asyncio.create_subprocess_exec(
        "make", "-n", "run", cwd=clone, env=clean_env(home), stdout=asyncio.subprocess.PIPE
    )
    dry_run, _ = await again.communicate()
    assert again.returncode == 0 and b"installing Hermes" in dry_run
    assert b"the hermes command is" not in dry_run


@pytest.mark.timeout(300)
def test_uv_tool_install_puts_a_working_hermes_on_the_path(clone: Path, tmp_path: Path) -> None:
    tools, bin_dir, home = tmp_path / "tools", tmp_path / "bin", tmp_path / "home"
    env = clean_env(
        home,
        UV_TOOL_DIR=str(tools),
        UV_TOOL_BIN_DIR=str(bin_dir),
        UV_PYTHON=sys.executable,
        UV_PYTHON_DOWNLOADS="never",
    )
    subprocess.run(
        [str(REPO / ".tools" / "bin" / "uv"), "tool", "install", f"{clone}[matrix]"],
        env=env,
        check=True,
        capture_output=True,
        timeout=240,
    )
    version = subprocess.run(
        [str(bin_dir / "hermes"), "--version"], env=env, capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("Hermes Gateway v")
    set_ = subprocess.run(
        [str(bin_dir / "hermes"), "config", "set", "API_SERVER_ENABLED", "true"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert set_.returncode == 0, set_.stderr
    assert (home / ".env").read_text() == "API_SERVER_ENABLED=true\n"
