"""The three memory files as a person edits them (`hermes memory`, the dashboard): each with its limit, and
how its text is saved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hermes.config import HermesPaths


@dataclass(frozen=True)
class MemoryFile:
    name: str
    path: Path
    limit: int
    entries: bool  # MEMORY.md and USER.md hold `§`-separated entries; SOUL.md is one text

    def read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def normalized(self, text: str) -> str:
        """The text as it is saved: entries as the memory tool writes them, the soul stripped."""
        from hermes.agent.memory import join_entries, split_entries

        if self.entries:
            return join_entries(split_entries(text))
        stripped = text.strip()
        return stripped + "\n" if stripped else ""

    def size(self, text: str) -> int:
        return len(text.strip()) if not self.entries else len(text)


def memory_files(paths: HermesPaths) -> dict[str, MemoryFile]:
    from hermes.agent.memory import MEMORY_LIMIT, SOUL_LIMIT, USER_LIMIT

    return {
        "MEMORY.md": MemoryFile("MEMORY.md", paths.memories / "MEMORY.md", MEMORY_LIMIT, True),
        "USER.md": MemoryFile("USER.md", paths.memories / "USER.md", USER_LIMIT, True),
        "SOUL.md": MemoryFile("SOUL.md", paths.soul_file, SOUL_LIMIT, False),
    }
