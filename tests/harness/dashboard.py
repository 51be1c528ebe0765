"""`hermes dashboard` as the fleet manager runs it, and the real browser that looks at it.

The dashboard runs as its own process with the companion unit's exact command line, working directory
(HERMES_HOME), environment (the .env's entries, HERMES_DASHBOARD_TUI=1). The browser is Debian's
chromium (the Makefile installs it when missing) driven by Playwright, with the flags that keep it off the
network; Playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values
from playwright.async_api import Browser, Page, async_playwright

from tests.harness.gateway import HERMES
from tests.harness.synapse_server import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 860}
_PROVOKED = re.compile(r"^Failed to load resource: the server responded with a status of (400|401|403|409) ")


@dataclass
class DashboardProcess:
    proc: subprocess.Popen[bytes]
    home: Path
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


def fleet_environment(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The unit's environment: ours (PATH and the like) without platform keys, then EnvironmentFile=.env,
    then Environment=HERMES_DASHBOARD_TUI=1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATRIX_", "MATTERMOST_", "API_SERVER_"))}
    env_file = home / ".env"
    if env_file.exists():
        env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    env.update({"HERMES_HOME": str(home), "HERMES_DASHBOARD_TUI": "1", **(extra or {})})
    return env


def _spawn(
    home: Path, port: int, log_path: Path, env: Mapping[str, str], args: tuple[str, ...]
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [HERMES, "dashboard", "--host", "127.0.0.1", "--port", str(port), "--no-open", *args],
            cwd=home,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def start_dashboard(
    home: Path, *, extra_env: Mapping[str, str] | None = None, args: tuple[str, ...] = ("--tui",)
) -> DashboardProcess:
    port = free_port()
    log_path = home / "dashboard.log"
    proc = _spawn(home, port, log_path, fleet_environment(home, extra_env), args)
    process = DashboardProcess(proc, home, port, log_path)
    async with asyncio.timeout(20):
        while "Hermes dashboard at" not in process.log():
            if proc.poll() is not None:
                raise AssertionError(f"the dashboard exited ({proc.returncode}):\n{process.log()}")
            await asyncio.sleep(0.05)
    return process


@contextlib.asynccontextmanager
async def running_dashboard(home: Path, **kwargs: object) -> AsyncIterator[DashboardProcess]:
    process = await start_dashboard(home, **kwargs)  # type: ignore[arg-type]
    try:
        yield process
    finally:
        code = await asyncio.to_thread(process.terminate)
        assert code == 0, f"the dashboard exited {code} on SIGTERM:\n{process.log()}"


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def page_on(dashboard: DashboardProcess) -> AsyncIterator[Page]:
    """A fresh browser page; confirmation dialogs are accepted (the operator clicks OK)."""
    async with chromium() as browser:
        context = await browser.new_context(viewport=VIEWPORT, base_url=dashboard.url)
        page = await context.new_page()
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # A CSP violation or a missing asset shows as a console error; the 4xx the tests provoke
        # on purpose are pages that say what went wrong.
        page.on(
            "console",
            lambda message: (
                errors.append(message.text)
                if message.type == "error" and not _PROVOKED.search(message.text)
                else None
            ),
        )
        try:
            yield page
        finally:
            await context.close()
        assert not errors, f"script errors on the page: {errors}"
