from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.fakes.llm import FakeLLM
from tests.harness.gateway import HERMES, llm_config, write_home


async def hermes(home: Path, *args: str, **env: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        HERMES,
        *args,
        env={**os.environ, "HERMES_HOME": str(home), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_doctor_all_green(tmp_path: Path) -> None:
    async with FakeLLM() as llm:
        home = write_home(
            tmp_path / "home",
            config={"model": llm_config(llm.base_url), "gateway": {"plugins": ["hermes.testing"]}},
            env={"GATEWAY_ALLOWED_USERS": "@me:example.org"},
        )
        home.chmod(0o700)
        code, out = await hermes(home, "doctor")
    assert code == 0, out
    lines = out.strip().splitlines()
    assert all(line.startswith("✓") for line in lines), out
    assert any("provider custom: the custom endpoint answered with 1 model(s)" in line for line in lines)
    assert any(".env is private" in line for line in lines)
    assert "✓ test: configured (no live check)" in lines


async def test_doctor_names_each_problem_with_its_fix(tmp_path: Path) -> None:
    home = write_home(
        tmp_path / "home",
        config={"model": {"provider": "custom", "base_url": "http://127.0.0.1:9"}, "colour": "blue"},
        env={"OPENAI_API_KEY": "sk-should-not-leak-123"},
    )
    (home / ".env").chmod(0o644)
    (home / ".env.d").mkdir()
    (home / ".env.d" / "10-private.env").write_text("MATRIX_HOME_ROOM=!a:hs\n")
    (home / ".env.d" / "10-private.env").chmod(0o600)
    (home / ".env.d" / "50-ops.env").write_text("MATTERMOST_TOKEN=mm-should-not-leak\n")
    (home / ".env.d" / "50-ops.env").chmod(0o640)
    code, out = await hermes(home, "doctor")
    assert code == 1
    assert f"✗ .env has mode 644; it holds secrets — fix: chmod 600 {home / '.env'}" in out
    ops = home / ".env.d" / "50-ops.env"
    assert f"✗ .env.d/50-ops.env has mode 640; it holds secrets — fix: chmod 600 {ops}" in out
    assert "10-private.env" not in out and "mm-should-not-leak" not in out
    assert "✗ config.yaml: unknown keys ignored: colour" in out
    assert "✗ provider custom:" in out
    assert "✗ no platform is enabled" in out
    assert "sk-should-not-leak-123" not in out


async def test_doctor_reports_a_corrupt_state_db_and_leaves_it(tmp_path: Path) -> None:
    home = write_home(
        tmp_path / "home", config={"model": {"provider": "custom", "base_url": "http://127.0.0.1:9"}}
    )
    (home / "state.db").write_bytes(b"this is not a database at all" * 100)
    before = (home / "state.db").read_bytes()
    code, out = await hermes(home, "doctor")
    assert code == 1
    assert "✗ state.db:" in out and "not a usable SQLite database" in out
    assert (home / "state.db").read_bytes() == before


async def test_doctor_with_a_bad_config_value(tmp_path: Path) -> None:
    home = write_home(tmp_path / "home", env={"MATRIX_REQUIRE_MENTION": "sometimes"})
    code, out = await hermes(home, "doctor")
    assert code == 78
    assert out.strip() == (
        "✗ config error: matrix.require_mention = 'sometimes' (from .env as MATRIX_REQUIRE_MENTION): "
        "allowed: true or false"
    )


async def test_config_show_redacts_secrets_and_names_origins(tmp_path: Path) -> None:
    home = write_home(
        tmp_path / "home",
        config={"matrix": {"homeserver": "https://hs.example"}},
        env={"MATRIX_ACCESS_TOKEN": "syt_secret_token_value"},
    )
    (home / ".env.d").mkdir()
    (home / ".env.d" / "50-ops.env").write_text("MATRIX_HOME_ROOM=!ops:hs\n")
    code, out = await hermes(home, "config", "show", MATRIX_REQUIRE_MENTION="false")
    assert code == 0, out
    rows = {line.split(" = ")[0].strip(): line for line in out.splitlines() if " = " in line}
    assert rows["matrix.homeserver"].endswith('"https://hs.example"  [config.yaml]')
    assert rows["matrix.access_token"].endswith("********  [.env]")
    assert rows["matrix.home_room"].endswith('"!ops:hs"  [.env.d/50-ops.env]')
    assert rows["matrix.require_mention"].endswith("false  [environment]")
    assert rows["matrix.auto_thread"].endswith("true  [default]")
    assert "syt_secret_token_value" not in out


async def test_foreign_state_db_is_moved_aside_and_kept(tmp_path: Path) -> None:
    import sqlite3

    home = write_home(
        tmp_path / "home",
        config={
            "model": {"provider": "custom", "base_url": "http://127.0.0.1:9"},
            "gateway": {"plugins": ["hermes.testing"]},
        },
    )
    conn = sqlite3.connect(home / "state.db")
    conn.execute("CREATE TABLE sessions (id TEXT, data TEXT)")
    conn.execute("INSERT INTO sessions VALUES ('old', 'from hermes-agent')")
    conn.commit()
    conn.close()
    from tests.harness.gateway import start_gateway_process, wait_for_log

    process = start_gateway_process(home)
    await wait_for_log(process, "gateway running")
    assert process.terminate() == 0
    moved = list(home.glob("state.db.foreign-*"))
    assert len(moved) == 1
    kept = sqlite3.connect(moved[0]).execute("SELECT data FROM sessions").fetchall()
    assert kept == [("from hermes-agent",)]
    assert "moved it to" in process.log()


async def test_mcp_server_secrets_are_not_shown_or_logged(tmp_path: Path) -> None:
    servers = {
        "files": {"command": "mcp-files", "env": {"FILES_TOKEN": "ghp_files_token_1234"}},
        "remote": {
            "url": "https://bot:url-password-5678@mcp.example/mcp",
            "headers": {"Authorization": "Bearer remote-header-token-9012"},
        },
    }
    home = write_home(tmp_path / "home", config={"mcp_servers": servers})
    code, out = await hermes(home, "config", "show")
    assert code == 0, out
    for secret in ("ghp_files_token_1234", "url-password-5678", "remote-header-token-9012"):
        assert secret not in out
    row = next(line for line in out.splitlines() if line.startswith("mcp_servers "))
    assert '"FILES_TOKEN": "********"' in row and "https://bot:********@mcp.example/mcp" in row

    from hermes.config import load_config
    from hermes.observability.logging import REDACTED, Redactor

    redact = Redactor(load_config({"HERMES_HOME": str(home)}).secret_values())
    line = redact("MCP remote said: 401 for token remote-header-token-9012 (env ghp_files_token_1234)")
    assert line == f"MCP remote said: 401 for token {REDACTED} (env {REDACTED})"
