"""The Mattermost emulator and a bot on it, for the failover tests of this directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.llm import FakeLLM
from tests.fakes.mattermost import MattermostEmulator
from tests.integration.mattermost.conftest import MattermostBot


@pytest.fixture
async def mm() -> AsyncIterator[MattermostEmulator]:
    async with MattermostEmulator() as emulator:
        yield emulator


@pytest.fixture
def bot(mm: MattermostEmulator, llm: FakeLLM, tmp_path: Path) -> MattermostBot:
    return MattermostBot.create(mm, llm, tmp_path / "home")
