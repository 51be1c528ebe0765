"""Reading `HERMES_HOME/logs/gateway.log`: the tail, parsed and filtered, and the lines written since.

Lines are as `observability.logging` writes them (`2026-12-07 10:00:00,123 LEVEL logger: message`); a line
that does not start like that (a traceback) belongs to the record above it. Every line is redacted again
with the secrets known now, since a secret may have been set after the line was written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_RECORD = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+): ")
TAIL_BYTES = 512 * 1024


@dataclass(frozen=True)
class LogRecord:
    stamp: str
    level: str
    logger: str
    text: str
    platform: str | None

    @property
    def at(self) -> float:
        """Parsed only when asked: strptime costs more than the rest of reading a line."""
        return datetime.strptime(self.stamp, "%Y-%m-%d %H:%M:%S").timestamp()


def _platform(logger: str) -> str | None:
    """The platform a record came from: its logger is `hermes.platforms.<name>...`."""
    if logger.startswith("hermes.platforms."):
        return logger.split(".", 3)[2]
    return None


def parse(lines: list[str]) -> list[LogRecord]:
    records: list[LogRecord] = []
    for line in lines:
        match = _RECORD.match(line)
        if match is None:
            if records:
                last = records[-1]
                records[-1] = LogRecord(
                    last.stamp, last.level, last.logger, f"{last.text}\n{line}", last.platform
                )
            continue
        logger = match.group(3)
        records.append(LogRecord(match.group(1), match.group(2), logger, line, _platform(logger)))
    return records


def keep(record: LogRecord, level: str | None, platform: str | None) -> bool:
    if level and LEVELS.index(record.level) < LEVELS.index(level):
        return False
    return not platform or record.platform == platform


def tail(path: Path, size: int = TAIL_BYTES) -> tuple[list[str], int, int]:
    """The last whole lines within `size` bytes, and the (inode, offset) to follow from."""
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            start = max(0, info.st_size - size)
            handle.seek(start)
            data = handle.read(info.st_size - start)
    except FileNotFoundError:
        return [], 0, 0
    complete = data.rfind(b"\n") + 1
    offset = start + complete
    data = data[:complete]
    if start:
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    return data.decode("utf-8", "replace").splitlines(), info.st_ino, offset


def read_new(path: Path, inode: int, offset: int) -> tuple[list[str], int, int]:
    """Whole lines written since (inode, offset); from the start of a new file after a rotation."""
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_ino != inode or info.st_size < offset:
                inode, offset = info.st_ino, 0
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], inode, offset
    complete = data.rfind(b"\n") + 1
    lines = data[:complete].decode("utf-8", "replace").splitlines()
    return lines, inode, offset + complete
