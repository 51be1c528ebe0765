from pathlib import Path

import pytest

from hermes.agent.memory import MemoryFiles
from hermes.agent.tools.base import ToolContext
from hermes.config.paths import HermesPaths
from hermes.config.settings import Settings


@pytest.fixture
def tool_context(tmp_path: Path) -> ToolContext:
    paths = HermesPaths(tmp_path)
    memory = MemoryFiles(paths)
    memory.ensure_defaults()
    return ToolContext(
        session_key="test:dm:1",
        session_id=None,
        platform="test",
        chat_kind="dm",
        user_id="u1",
        origin=None,
        services=None,
        paths=paths,
        settings=Settings(),
        store=None,
        memory=memory,
    )
