"""A Hermes bot on the Mattermost emulator with the fake LLM, its dashboard process, and a real browser."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.fakes.llm import FakeLLM
from tests.fakes.mattermost import MattermostEmulator
from tests.harness.dashboard import CHROMIUM
from tests.integration.mattermost.conftest import MattermostBot

# Where the tour writes its screenshots when asked to refresh the README's pictures.
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "images"


@pytest.fixture(autouse=True)
def chromium_installed() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[Path]:
    """Where a test's screenshots go; with HERMES_UPDATE_SCREENSHOTS=1 they replace the README's pictures."""
    directory = tmp_path / "shots"
    directory.mkdir()
    yield directory
    if os.environ.get("HERMES_UPDATE_SCREENSHOTS") == "1":
        for shot in directory.iterdir():
            shutil.copy(shot, SCREENSHOTS / shot.name)


async def shoot(page: Page, name: str, shots: Path) -> None:
    path = shots / f"dashboard-{name}.png"
    await page.screenshot(path=str(path))
    assert path.read_bytes().startswith(b"\x89PNG")


@pytest.fixture
async def mm() -> AsyncIterator[MattermostEmulator]:
    async with MattermostEmulator() as emulator:
        yield emulator


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM(instant=True) as fake:
        yield fake


@pytest.fixture
def bot(mm: MattermostEmulator, llm: FakeLLM, tmp_path: Path) -> MattermostBot:
    bot = MattermostBot.create(mm, llm, tmp_path / "home")
    bot.configure()
    return bot
