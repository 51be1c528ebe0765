"""A tool context on a temporary HERMES_HOME, and gateway services that record what tools asked of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hermes.agent.contract import Origin
from hermes.agent.memory import MemoryFiles
from hermes.agent.tools.base import ToolContext
from hermes.config.paths import HermesPaths
from hermes.config.settings import Settings

ORIGIN = Origin("test", "chat-1", "dm", None, "@alice")


@dataclass
class RecordingServices:
    """`GatewayServices` answering approvals with `approve` and recording every request."""

    approve: bool = True
    approvals: list[tuple[Origin, str, float]] = field(default_factory=list)
    sent: list[tuple[str, str]] = field(default_factory=list)
    send_error: Exception | None = None

    async def request_approval(self, origin: Origin, prompt: str, wait_seconds: float) -> bool:
        self.approvals.append((origin, prompt, wait_seconds))
        return self.approve

    async def send_message(self, target: str, text: str) -> str:
        if self.send_error is not None:
            raise self.send_error
        self.sent.append((target, text))
        return f"m{len(self.sent)}"


def make_context(home: Path, settings: Settings | None = None, **fields: Any) -> ToolContext:
    paths = HermesPaths(home)
    memory = MemoryFiles(paths)
    values: dict[str, Any] = {
        "session_key": "test:dm:@alice",
        "session_id": None,
        "platform": "test",
        "chat_kind": "dm",
        "user_id": "@alice",
        "origin": ORIGIN,
        "services": None,
        "paths": paths,
        "settings": settings or Settings(),
        "store": None,
        "memory": memory,
    }
    values.update(fields)
    return ToolContext(**values)


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return make_context(tmp_path / "home")


@pytest.fixture
def workspace(ctx: ToolContext) -> Path:
    root = ctx.paths.workspace
    root.mkdir(parents=True)
    return root
