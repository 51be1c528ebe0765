"""Writing files that other programs read, or that must survive a crash: never a partial file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(
    path: Path, data: str | bytes, *, mode: int | None = None, durable: bool = True
) -> os.stat_result:
    """Temp file in the same directory, then rename over `path`; with `durable`, fsync the file before
    and the directory after, so a crash leaves the old file or the new one. Returns the file's stat as
    written (a rename keeps inode and mtime: whoever compares it later knows whether it was replaced).

    The file gets `mode` when given, else the mode of the file it replaces, else the umask's default.
    Text is written as given (no newline translation).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        with contextlib.suppress(FileNotFoundError):
            mode = path.stat().st_mode & 0o7777
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        payload = data.encode() if isinstance(data, str) else data
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
            written = os.fstat(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if durable:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return written


def reuse_cached(path: Path) -> int | None:
    """The size of a cached file, or None when it is not there. A hit counts as a use: its mtime is
    refreshed, so that pruning by age (`hermes.gateway.media_cache`) keeps files still in use."""
    try:
        os.utime(path)
        return path.stat().st_size
    except FileNotFoundError:
        return None
