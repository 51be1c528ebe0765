from collections.abc import AsyncIterator

import pytest

from tests.fakes.llm import FakeLLM

pytest_plugins = ["tests.harness.synapse", "tests.harness.postgres"]


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    """The scripted fake LLM, answering with an echo unless a test scripts its turns; directories that
    need another kind (instant, keyed) override this fixture."""
    async with FakeLLM() as fake:
        yield fake
