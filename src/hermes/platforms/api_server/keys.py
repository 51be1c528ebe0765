"""The API key: what counts as a usable one, and a fresh one written into `.env` when there is none.

The key is all that stands between the network and the agent's tools, so a short or sample value stops
the daemon instead of serving with it.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from hermes.fileio import write_atomic
from hermes.observability.logging import RedactingFormatter

MIN_KEY_CHARS = 16
ENV_NAME = "API_SERVER_KEY"
# Sample values from docs, templates and tutorials, compared without case, spaces, dashes or underscores.
_PLACEHOLDERS = frozenset(
    {
        "changeme",
        "changemeplease",
        "changethis",
        "yourkeyhere",
        "yourapikey",
        "yourapikeyhere",
        "yoursecretkey",
        "yoursecretkeyhere",
        "yoursecrethere",
        "yourtokenhere",
        "replaceme",
        "replacewithyourkey",
        "placeholder",
        "secretkey",
        "apiserverkey",
        "insertkeyhere",
        "putyourkeyhere",
        "password",
        "example",
        "examplekey",
    }
)
_PLACEHOLDER_WORDS = ("changeme", "yourkey", "yoursecret", "replaceme", "placeholder", "yourapikey")
_ENV_LINE = re.compile(rf"^\s*(?:export\s+)?{ENV_NAME}\s*=")


def key_problem(key: str) -> str | None:
    """Why `key` cannot protect the server, or None when it can. Never repeats the key itself."""
    if len(key) < MIN_KEY_CHARS:
        return f"too short ({len(key)} characters; at least {MIN_KEY_CHARS} are required)"
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        return "must be printable ASCII without spaces (it travels in an HTTP header)"
    folded = re.sub(r"[\s_\-.]", "", key.lower())
    if folded in _PLACEHOLDERS or any(word in folded for word in _PLACEHOLDER_WORDS):
        return "a placeholder from an example, not a real key"
    if len(set(key)) <= 2:
        return "too simple (one or two distinct characters)"
    return None


def new_key() -> str:
    return secrets.token_hex(32)


def write_key(env_file: Path, key: str) -> None:
    """Put `API_SERVER_KEY=<key>` into `env_file` (an existing empty entry is replaced, every other line
    kept), atomically and with mode 0600. Blocking: run it in a thread."""
    env_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        lines = env_file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    entry = f"{ENV_NAME}={key}"
    for index, line in enumerate(lines):
        if _ENV_LINE.match(line):
            lines[index] = entry
            break
    else:
        lines.append(entry)
    write_atomic(env_file, "\n".join(lines) + "\n", mode=0o600)


def redact_from_logs(secret: str) -> None:
    """Teach every redacting log handler a secret born after logging was set up (a generated key)."""
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, RedactingFormatter):
            formatter.redactor.add([secret])
