"""Running a whole gateway in tests: in-process (fast, inspectable) or as a `hermes gateway run`
subprocess (for signals, SIGKILL crash tests and start-up behaviour)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from hermes.config import LoadedConfig, load_config
from hermes.gateway.hub import Hub
from hermes.gateway.runner import Gateway

HERMES = str(Path(sys.executable).with_name("hermes"))


def write_home(
    home: Path, *, config: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """A HERMES_HOME with the given config.yaml tree and .env entries (mode 0600, as the daemon expects)."""
    home.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (home / "config.yaml").write_text(yaml.safe_dump(dict(config)))
    if env is not None:
        env_file = home / ".env"
        env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
        env_file.chmod(0o600)
    return home


def llm_config(base_url: str, **model: object) -> dict[str, object]:
    """The model block for a gateway that talks to the fake LLM (an OpenAI-compatible custom endpoint)."""
    return {"provider": "custom", "base_url": base_url, "default": "fake-model", **model}


async def hub_settled(hub: Hub, timeout: float = 10.0) -> None:
    """Until the inbox holds nothing unanswered and no run is in flight."""
    async with asyncio.timeout(timeout):
        while await hub.store.inbox.backlog_count() or hub.runs_in_flight:
            await asyncio.sleep(0.01)


@dataclass
class RunningGateway:
    gateway: Gateway
    task: asyncio.Task[None]

    @property
    def config(self) -> LoadedConfig:
        return self.gateway.config

    async def connected(self, platform: str, timeout: float = 30.0) -> None:
        """Wait until `platform` is connected; fail at once with the gateway's error if it died."""
        supervisors = self.gateway.supervisors
        async with asyncio.timeout(timeout):
            started = asyncio.ensure_future(self.gateway.started.wait())
            await asyncio.wait({started, self.task}, return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            if self.task.done():
                self.task.result()
                raise AssertionError("the gateway stopped before starting its platforms")
            connected = asyncio.ensure_future(supervisors[platform].connected.wait())
            await asyncio.wait({connected, self.task}, return_when=asyncio.FIRST_COMPLETED)
            connected.cancel()
            if self.task.done():
                self.task.result()
                raise AssertionError(f"the gateway stopped before {platform} connected")

    async def stop(self, timeout: float = 30.0) -> None:
        self.gateway.stop_requested.set()
        async with asyncio.timeout(timeout):
            await self.task


@contextlib.asynccontextmanager
async def gateway_in_process(
    home: Path, environ: Mapping[str, str] | None = None
) -> AsyncIterator[RunningGateway]:
    """The gateway of `home`, running in this event loop until the block ends."""
    environ = {"HERMES_HOME": str(home), **(environ or {})}
    gateway = Gateway(load_config(environ), environ=environ)
    task = asyncio.create_task(gateway.run())
    running = RunningGateway(gateway, task)
    try:
        yield running
    finally:
        if not task.done():
            await running.stop()
        elif task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


@dataclass
class GatewayProcess:
    proc: subprocess.Popen[bytes]
    home: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


def start_gateway_process(home: Path, environ: Mapping[str, str] | None = None) -> GatewayProcess:
    """`hermes gateway run` on `home`, its console output in `home/console.log`."""
    log_path = home / "console.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MATRIX_", "MATTERMOST_", "API_SERVER_", "DISCORD_"))
    }
    env.update({"HERMES_HOME": str(home), **(environ or {})})
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [HERMES, "gateway", "run", "-v"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return GatewayProcess(proc, home, log_path)


async def wait_for_log(process: GatewayProcess, text: str, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while text not in process.log():
            if process.proc.poll() is not None:
                raise AssertionError(
                    f"gateway exited ({process.proc.returncode}) before logging {text!r}:\n{process.log()}"
                )
            await asyncio.sleep(0.05)
