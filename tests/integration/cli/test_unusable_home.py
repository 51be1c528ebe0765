"""A HERMES_HOME that cannot be used ends every command in one line naming the path and the problem, exit
78 (EX_CONFIG), never a traceback. Run as an unprivileged user, since root passes every permission check."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.other_user import hermes_as_nobody

COMMANDS = [
    ("gateway", "run"),
    ("doctor",),
    ("config", "show"),
    ("gateway", "status"),
    ("chat", "-q", "hello"),
    ("sessions", "list"),
    ("memory", "show"),
    ("cron", "list"),
    ("gateway", "setup", "--non-interactive"),
]


@pytest.fixture(scope="module")
def foreign_home() -> Iterator[Path]:
    """A home of root's with mode 0700 in a directory everyone can reach (pytest's tmp_path is not)."""
    home = Path(tempfile.mkdtemp(prefix="hermes-foreign-home-"))
    (home / ".env").write_text("API_SERVER_ENABLED=true\n")
    (home / ".env").chmod(0o600)
    yield home
    shutil.rmtree(home)


def expected(home: Path, foreign: Path) -> tuple[str, str]:
    if str(home) == "/etc/passwd/sub":
        return str(home), "/etc/passwd is a file"
    if str(home) == "/proc/hermes":
        return str(home), "cannot be created in /proc"
    return str(foreign), "permission denied (owned by uid 0, mode 700)"


@pytest.mark.parametrize("where", ["/etc/passwd/sub", "/proc/hermes", "foreign"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unusable_home_is_one_line_and_exit_78(
    where: str, command: tuple[str, ...], foreign_home: Path
) -> None:
    home = foreign_home if where == "foreign" else Path(where)
    result = hermes_as_nobody(*command, env={"HERMES_HOME": str(home)})
    lines = result.stdout.strip().splitlines()
    path, problem = expected(home, foreign_home)
    assert result.returncode == 78, result.stdout
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith(f"HERMES_HOME {path}") and problem in lines[0], lines[0]


def test_an_unreadable_env_file_in_a_usable_home_is_one_line() -> None:
    home = Path(tempfile.mkdtemp(prefix="hermes-home-"))
    try:
        home.chmod(0o777)
        (home / ".env").write_text("API_SERVER_ENABLED=true\n")
        (home / ".env").chmod(0o600)
        result = hermes_as_nobody("doctor", env={"HERMES_HOME": str(home)})
    finally:
        shutil.rmtree(home)
    assert result.returncode == 78, result.stdout
    assert result.stdout.strip() == f"✗ cannot read {home / '.env'}: Permission denied"
