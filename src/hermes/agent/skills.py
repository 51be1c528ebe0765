"""The skills index: name and description of every `skills/<category>/<name>/SKILL.md` (front matter)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

_MAX_DESCRIPTION = 300


@dataclass(frozen=True)
class Skill:
    category: str
    name: str
    description: str
    path: Path


def parse_front_matter(text: str) -> dict[str, object]:
    """The YAML between a leading `---` line and the next `---` line; {} when absent or unreadable."""
    if not text.startswith("---"):
        return {}
    lines = text.splitlines()
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            try:
                data = yaml.safe_load("\n".join(lines[1:end]))
            except yaml.YAMLError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


class SkillIndex:
    """Rescanned on every call (a few directory reads); a file is parsed again only when it changed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._parsed: dict[Path, tuple[tuple[int, int], Skill | None]] = {}

    def scan(self) -> list[Skill]:
        """A listing per category and a stat per skill; front matter is parsed only for a new or changed
        file, so after the first scan (made in a thread) this is cheap enough for the event loop."""
        found: list[Skill] = []
        seen: set[Path] = set()
        for category in _subdirs(self.root):
            for skill_dir in _subdirs(category):
                path = skill_dir / "SKILL.md"
                try:
                    stat = path.stat()
                except OSError:
                    continue
                seen.add(path)
                stamp = (stat.st_mtime_ns, stat.st_size)
                cached = self._parsed.get(path)
                if cached is None or cached[0] != stamp:
                    cached = (stamp, self._parse(path, category.name, skill_dir.name))
                    self._parsed[path] = cached
                if cached[1] is not None:
                    found.append(cached[1])
        for gone in set(self._parsed) - seen:
            del self._parsed[gone]
        return found

    def _parse(self, path: Path, category: str, directory: str) -> Skill | None:
        try:
            meta = parse_front_matter(path.read_text(encoding="utf-8", errors="replace"))
        except OSError as exc:
            log.warning("skipping skill %s: %s", path, exc)
            return None
        name = meta.get("name")
        description = meta.get("description")
        return Skill(
            category=category,
            name=name.strip() if isinstance(name, str) and name.strip() else directory,
            description=" ".join(description.split())[:_MAX_DESCRIPTION]
            if isinstance(description, str)
            else "",
            path=path,
        )


def _subdirs(path: Path) -> list[Path]:
    try:
        with os.scandir(path) as entries:
            return sorted(
                Path(entry.path) for entry in entries if entry.is_dir() and not entry.name.startswith(".")
            )
    except OSError:
        return []
