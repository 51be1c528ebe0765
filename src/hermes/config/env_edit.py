"""Changing entries of a `.env` file in place: the assignment lines asked for change, every other line
(comments, blank lines, unknown keys, `export` prefixes, quoting of untouched values) stays as written.

Values are written so that python-dotenv (the daemon) and systemd's `EnvironmentFile=` read them back the
same: bare when they hold only safe characters, else double-quoted with `\\`, `"` and newlines escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import StringIO

from dotenv import dotenv_values

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*(.*)$")
_BARE = re.compile(r"^[A-Za-z0-9_\-./:@,+=%~^]+\Z")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class _Entry:
    name: str
    first: int  # line index of the assignment
    last: int  # last line index (a quoted value may span lines)


def quote_value(value: str) -> str:
    if _BARE.match(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _closing_line(lines: list[str], index: int, rest: str) -> int:
    """The line where a value that opens with a quote closes (the same line when it is not quoted)."""
    if not rest or rest[0] not in "'\"":
        return index
    quote = rest[0]
    text, position, line = rest, 1, index
    while True:
        while position < len(text):
            char = text[position]
            if char == "\\":
                position += 2
                continue
            if char == quote:
                return line
            position += 1
        if line + 1 >= len(lines):
            return line
        line += 1
        text, position = lines[line], 0


class EnvFile:
    """One `.env` file's lines. `set` replaces the effective (last) assignment of a name or adds one
    next to its relatives (same prefix before the first `_`); `unset` removes every assignment."""

    def __init__(self, text: str) -> None:
        self.newline = "\r\n" if "\r\n" in text else "\n"
        # Only what python-dotenv counts as line ends: str.splitlines would also split at \x1e, \x85, ...
        self.lines = re.split(r"\r\n|\n|\r", text)
        if self.lines[-1] == "":
            self.lines.pop()

    def _entries(self) -> list[_Entry]:
        entries = []
        index = 0
        while index < len(self.lines):
            match = _ASSIGNMENT.match(self.lines[index])
            if match is None:
                index += 1
                continue
            last = _closing_line(self.lines, index, match.group(2))
            entries.append(_Entry(match.group(1), index, last))
            index = last + 1
        return entries

    def names(self) -> list[str]:
        return [entry.name for entry in self._entries()]

    def has(self, name: str) -> bool:
        return any(entry.name == name for entry in self._entries())

    def get(self, name: str) -> str | None:
        """The value python-dotenv reads for `name` (the last assignment), or None."""
        found = [entry for entry in self._entries() if entry.name == name]
        if not found:
            return None
        entry = found[-1]
        chunk = "\n".join(self.lines[entry.first : entry.last + 1])
        return dotenv_values(stream=StringIO(chunk), interpolate=False).get(name)

    def set(self, name: str, value: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a valid environment variable name")
        entries = self._entries()
        same = [entry for entry in entries if entry.name == name]
        if same and self.get(name) == value:
            return
        if same:
            entry = same[-1]
            export = "export " if self.lines[entry.first].lstrip().startswith("export ") else ""
            self.lines[entry.first : entry.last + 1] = [f"{export}{name}={quote_value(value)}"]
            return
        prefix = name.split("_", 1)[0] + "_"
        relatives = [entry for entry in entries if entry.name.startswith(prefix)]
        line = f"{name}={quote_value(value)}"
        if relatives:
            self.lines.insert(relatives[-1].last + 1, line)
        else:
            self.lines.append(line)

    def unset(self, name: str) -> None:
        for entry in reversed(self._entries()):
            if entry.name == name:
                del self.lines[entry.first : entry.last + 1]

    def text(self) -> str:
        if not self.lines:
            return ""
        return self.newline.join(self.lines) + self.newline
