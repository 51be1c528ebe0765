"""MEMORY.md, USER.md and SOUL.md: size limits, `§`-separated entries, atomic writes.

`memories/MEMORY.md` and `memories/USER.md` are the owner's (the single-user contract other tools read and
write). Every other person the agent talks to has a pair of their own under `memories/users/<who>/`, with
the same limits, shown only in their own conversations (`MemoryFiles.scoped`), so what one person told the
agent never reaches another person's prompt.

Other programs edit these files while the daemon runs (they write a temp file and rename it over), so
every turn looks at them afresh: a stat, and a read when the file is not the version read last time (its
inode, size, modification or change time differ, or it changed too recently for its times to tell, as
git's index does). Every write is temp + fsync + rename, and re-reads the file first, so an edit made since
the last turn is kept. With PostgreSQL the files are shared
by every replica (`agent.shared_home`): an edit is then made on the database's latest version and mirrored
into the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hermes.config.paths import HermesPaths
from hermes.fileio import write_atomic

if TYPE_CHECKING:
    from hermes.agent.shared_home import SharedHome

log = logging.getLogger(__name__)

Target = Literal["memory", "user"]

MEMORY_LIMIT = 2200
USER_LIMIT = 1375
SOUL_LIMIT = 3000
SEPARATOR = "§"
_JOIN = f"\n{SEPARATOR}\n"

DEFAULT_SOUL = """\
You are Hermes, a capable and friendly AI assistant. You help with questions, writing, analysis, planning
and technical work.

- Be direct and concise; lead with the answer, then the detail that matters.
- Say so when you are unsure, and never invent facts, quotes, links or tool results.
- Use your tools when they make the answer better, and keep your memory up to date with what is worth
  remembering about the user and your work together.
- Match the language and tone of the person you are talking to.
"""


# What marks an entry saved by a run that had read content from outside (a web page, a file, a tool's output):
# it may be an injected instruction rather than something the user said.
UNTRUSTED_MARK = "[from untrusted content] "
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9@._-]+")


class MemoryEditError(ValueError):
    """A memory edit was refused; the message is written for the model."""


@dataclass(frozen=True)
class MemorySnapshot:
    soul: str
    memory: list[str]
    user: list[str]


def split_entries(text: str) -> list[str]:
    """Entries are separated by lines holding only `§`."""
    entries: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip() == SEPARATOR:
            entries.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    entries.append("\n".join(current).strip())
    return [entry for entry in entries if entry]


def join_entries(entries: list[str]) -> str:
    return _JOIN.join(entries) + "\n" if entries else ""


# The files are a few KiB by their limits; a runaway one is read only this far (the prompt reads them on the
# event loop).
MAX_READ_BYTES = 64 * 1024


def _read(path: Path) -> str:
    try:
        with path.open("rb") as file:
            return file.read(MAX_READ_BYTES).decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# A file modified this recently may change again within its timestamps' granularity: always read it.
_RACY_SECONDS = 2.0
# For the prompt: each file's identity (inode, size, mtime, ctime) when it was read, and what it held.
_seen: dict[Path, tuple[tuple[int, int, int, int], str]] = {}


def _read_current(path: Path) -> str:
    """`_read`, skipped when the file is still the version read last time."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        _seen.pop(path, None)
        return ""
    ident = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    seen = _seen.get(path)
    if seen is not None and seen[0] == ident:
        return seen[1]
    text = _read(path)
    if time.time() - info.st_mtime > _RACY_SECONDS:
        _seen[path] = (ident, text)
    else:
        _seen.pop(path, None)
    return text


def scope_directory(scope: str) -> str:
    """A person's directory name: readable, safe as a path, and distinct for distinct scopes."""
    readable = _UNSAFE_NAME.sub("_", scope).strip("._")[:60]
    return f"{readable}-{hashlib.sha256(scope.encode()).hexdigest()[:10]}"


class MemoryFiles:
    def __init__(
        self, paths: HermesPaths, *, directory: Path | None = None, shared: SharedHome | None = None
    ) -> None:
        folder = directory or paths.memories
        self._paths = paths
        self._shared = shared
        self._files: dict[Target, tuple[Path, int]] = {
            "memory": (folder / "MEMORY.md", MEMORY_LIMIT),
            "user": (folder / "USER.md", USER_LIMIT),
        }
        self.soul_path = paths.soul_file
        # Our own read-modify-write cycles must not interleave (two sessions saving at once).
        self._lock = asyncio.Lock()
        self._scoped: dict[str, MemoryFiles] = {}

    def scoped(self, scope: str | None) -> MemoryFiles:
        """The owner's files for None, else the files of the person `scope` names (created on first write)."""
        if scope is None:
            return self
        files = self._scoped.get(scope)
        if files is None:
            directory = self._paths.memories / "users" / scope_directory(scope)
            files = self._scoped[scope] = MemoryFiles(self._paths, directory=directory, shared=self._shared)
        return files

    def path(self, target: Target) -> Path:
        return self._files[target][0]

    def limit(self, target: Target) -> int:
        return self._files[target][1]

    def ensure_defaults(self) -> None:
        """First run: the memories directory and a default SOUL.md. Blocking; call from a thread."""
        self.path("memory").parent.mkdir(parents=True, exist_ok=True)
        if not self.soul_path.exists():
            write_atomic(self.soul_path, DEFAULT_SOUL)

    def read_snapshot(self) -> MemorySnapshot:
        """The three files as they are now: three small capped reads, cheap enough for the event loop."""
        soul = _read_current(self.soul_path).strip()
        if len(soul) > SOUL_LIMIT:
            log.warning(
                "%s is %d chars, over its %d limit; using the first %d",
                self.soul_path,
                len(soul),
                SOUL_LIMIT,
                SOUL_LIMIT,
            )
            soul = soul[:SOUL_LIMIT]
        return MemorySnapshot(
            soul=soul,
            memory=split_entries(_read_current(self.path("memory"))),
            user=split_entries(_read_current(self.path("user"))),
        )

    async def snapshot(self) -> MemorySnapshot:
        return await asyncio.to_thread(self.read_snapshot)

    async def entries(self, target: Target) -> list[str]:
        return await asyncio.to_thread(lambda: split_entries(_read(self.path(target))))

    async def add(self, target: Target, content: str) -> str:
        content = _clean(content)

        def change(entries: list[str]) -> tuple[list[str], str]:
            if content in entries:
                return entries, "That entry is already saved; nothing changed."
            return [*entries, content], "Saved."

        return await self._edit(target, change)

    async def replace(self, target: Target, old_text: str, content: str) -> str:
        content = _clean(content)

        def change(entries: list[str]) -> tuple[list[str], str]:
            index = _find(entries, old_text, self.path(target).name)
            return [*entries[:index], content, *entries[index + 1 :]], "Replaced."

        return await self._edit(target, change)

    async def remove(self, target: Target, old_text: str) -> str:
        def change(entries: list[str]) -> tuple[list[str], str]:
            index = _find(entries, old_text, self.path(target).name)
            return [*entries[:index], *entries[index + 1 :]], "Removed."

        return await self._edit(target, change)

    async def _edit(self, target: Target, change: Callable[[list[str]], tuple[list[str], str]]) -> str:
        path, limit = self._files[target]

        def edited(current: str) -> tuple[str, str]:
            entries = split_entries(current)
            updated, message = change(entries)
            if updated == entries:
                return current, message
            text = join_entries(updated)
            if len(text) > limit:
                room = limit - len(current)
                raise MemoryEditError(
                    f"{path.name} would be {len(text)} chars, over its {limit}-char limit; it has "
                    f"{max(room, 0)} chars of room left (it holds {len(current)}). Shorten the entry, or "
                    "replace or remove older entries first."
                )
            return text, f"{message} {path.name} now holds {len(text)} of {limit} chars."

        def apply() -> str:
            current = _read(path)
            text, message = edited(current)
            if text != current:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, text)
            return message

        async with self._lock:
            if self._shared is not None:
                return await self._shared.edit(path, edited)
            return await asyncio.to_thread(apply)


def _clean(content: str) -> str:
    content = content.strip()
    if not content:
        raise MemoryEditError("the entry is empty")
    if any(line.strip() == SEPARATOR for line in content.splitlines()):
        raise MemoryEditError(
            f"an entry cannot contain a line holding only {SEPARATOR!r}: it separates entries"
        )
    return content


def _find(entries: list[str], old_text: str, file_name: str) -> int:
    needle = old_text.strip()
    if not needle:
        raise MemoryEditError("old_text is empty: give a unique part of the entry to change")
    found = [i for i, entry in enumerate(entries) if needle in entry]
    if not found:
        raise MemoryEditError(f"no entry in {file_name} contains {needle!r}")
    if len(found) > 1:
        raise MemoryEditError(
            f"{len(found)} entries in {file_name} contain {needle!r}; give a longer, unique part of the entry"
        )
    return found[0]
