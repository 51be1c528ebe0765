"""What counts as a usable API key, writing a generated one into `.env`, and keeping it out of the logs."""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hermes.observability.logging import RedactingFormatter, Redactor
from hermes.platforms.api_server.auth import BearerAuth
from hermes.platforms.api_server.errors import ApiError
from hermes.platforms.api_server.keys import key_problem, new_key, redact_from_logs, write_key

GOOD = "3f9c2b7e8a1d4c6f"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "too short"),
        ("abc123", "too short"),
        ("015chars-abcdef", "too short"),
        ("changeme", "too short"),
        ("changeme-changeme", "placeholder"),
        ("your-secret-key-here", "placeholder"),
        ("YOUR_API_KEY_HERE_PLEASE", "placeholder"),
        ("replace-me-with-a-real-key", "placeholder"),
        ("placeholder-value-123", "placeholder"),
        ("xxxxxxxxxxxxxxxxxxxx", "too simple"),
        ("abababababababababab", "too simple"),
        ("has spaces in the key value", "printable ASCII"),
        ("clé-secrète-très-longue", "printable ASCII"),
        ("tab\tinside-0123456789", "printable ASCII"),
    ],
)
def test_weak_keys_are_named(key: str, problem: str) -> None:
    found = key_problem(key)
    assert found is not None and problem in found
    if len(key) >= 4:
        assert key not in found


@pytest.mark.parametrize("key", [GOOD, "bench-key-0123456789abcdef", "sk-hermes-Z8x_2Lq-9vPm", new_key()])
def test_real_keys_pass(key: str) -> None:
    assert key_problem(key) is None


def test_generated_keys_are_64_hex_and_unique() -> None:
    keys = {new_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)


def test_write_key_creates_env_with_mode_0600(tmp_path: Path) -> None:
    env = tmp_path / "home" / ".env"
    write_key(env, GOOD)
    assert env.read_text() == f"API_SERVER_KEY={GOOD}\n"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert [p.name for p in env.parent.iterdir()] == [".env"]


def test_write_key_keeps_other_lines_and_replaces_an_empty_entry(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# my settings\nMATRIX_HOMESERVER=https://m.example.org\nexport API_SERVER_KEY=\nX='a b'\n"
    )
    env.chmod(0o644)
    write_key(env, GOOD)
    assert env.read_text().splitlines() == [
        "# my settings",
        "MATRIX_HOMESERVER=https://m.example.org",
        f"API_SERVER_KEY={GOOD}",
        "X='a b'",
    ]
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_write_key_appends_when_there_is_no_entry(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=1")
    write_key(env, GOOD)
    assert env.read_text() == f"A=1\nAPI_SERVER_KEY={GOOD}\n"


@pytest.fixture
def redacting_handler() -> Iterator[logging.Handler]:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(Redactor(), "%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def test_redact_from_logs_teaches_every_redacting_handler(redacting_handler: logging.Handler) -> None:
    key = new_key()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key is %s", (key,), None)
    assert key in redacting_handler.format(record)
    redact_from_logs(key)
    formatted = redacting_handler.format(record)
    assert key not in formatted and "[REDACTED]" in formatted


async def test_bearer_auth() -> None:
    auth = BearerAuth(GOOD, None)
    assert (await auth.check(f"Bearer {GOOD}")).is_admin
    assert (await auth.check(f"bearer   {GOOD} ")).name == "admin"
    for header in (None, "", GOOD, f"Basic {GOOD}", f"Bearer {GOOD}x", "Bearer", "Bearer ✓✓✓"):
        with pytest.raises(ApiError) as caught:
            await auth.check(header)
        assert caught.value.status == 401
        assert GOOD not in caught.value.message
