"""Log files under HERMES_HOME/logs, and redaction of every secret the settings know.

Redaction happens on the fully formatted line, traceback included, so a secret inside an exception's
text or a library's message is caught wherever it appears.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

REDACTED = "[REDACTED]"
# Secrets may arrive from places the settings never saw (a header echoed by a server, a token in a URL).
_PATTERNS = (
    re.compile(r"(?i)(authorization:\s*bearer\s+)[^\s'\",]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{12,}"),
    re.compile(r"(?i)([?&](?:access_token|token|key|api_key)=)[^&\s'\"]+"),
)
_MIN_SECRET_LEN = 4


class Redactor:
    """Replaces known secret values; the set can grow while running (e.g. a generated API key)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            known = set(self._secrets) | {s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}
            # Longest first, so a secret containing another is replaced whole.
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, fmt: str) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(super().format(record))


FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log every request or every message at INFO; their warnings still come through.
_CHATTY = (
    "aiohttp.access",
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "openai._base_client",
    "anthropic._base_client",
    "mau",
)


def setup_logging(
    logs_dir: Path,
    redactor: Redactor,
    *,
    level: str = "INFO",
    verbosity: int = 0,
    max_bytes: int = 10 * 1024 * 1024,
    backup_count: int = 5,
) -> None:
    """`verbosity` > 0 shows debug on the console, < 0 only warnings; the files keep `level`."""
    logs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()

    file_level = logging.DEBUG if verbosity > 0 else getattr(logging, level)
    main = logging.handlers.RotatingFileHandler(
        logs_dir / "gateway.log", maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
    )
    main.setLevel(file_level)
    errors = logging.handlers.RotatingFileHandler(
        logs_dir / "errors.log", maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
    )
    errors.setLevel(logging.WARNING)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbosity > 0 else logging.WARNING if verbosity < 0 else file_level)
    for handler, fmt in ((main, FILE_FORMAT), (errors, FILE_FORMAT), (console, CONSOLE_FORMAT)):
        handler.setFormatter(RedactingFormatter(redactor, fmt))
        root.addHandler(handler)
    root.setLevel(min(file_level, console.level))
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
