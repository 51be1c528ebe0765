"""`hermes doctor` on a PostgreSQL store: it checks the database the gateway would use, not state.db."""

from __future__ import annotations

from pathlib import Path

from tests.harness.gateway import write_home
from tests.harness.postgres_server import PostgresServer

from .test_doctor_and_config import hermes


async def test_doctor_checks_the_postgresql_store(tmp_path: Path, postgres: PostgresServer) -> None:
    url = postgres.fresh_database()
    try:
        home = write_home(tmp_path / "home", env={"HERMES_DATABASE_URL": url})
        _, out = await hermes(home, "doctor")
    finally:
        postgres.release(url)
    [line] = [line for line in out.splitlines() if "hermes_test_" in line]
    assert line.startswith("✓ postgresql://hermes@127.0.0.1:") and "healthy (schema " in line, out
    assert "state.db" not in out


async def test_doctor_names_an_unreachable_postgresql_store(tmp_path: Path, postgres: PostgresServer) -> None:
    home = write_home(tmp_path / "home", env={"HERMES_DATABASE_URL": postgres.url("hermes_no_such_database")})
    code, out = await hermes(home, "doctor")
    assert code == 1
    [line] = [line for line in out.splitlines() if "hermes_no_such_database" in line]
    assert line.startswith("✗ store: postgresql://") and "cannot connect" in line, out
    assert "HERMES_DATABASE_URL" in out
    assert "state.db" not in out


async def test_doctor_on_an_empty_postgresql_database(tmp_path: Path, postgres: PostgresServer) -> None:
    url = postgres.create_database()
    try:
        home = write_home(tmp_path / "home", env={"HERMES_DATABASE_URL": url})
        _, out = await hermes(home, "doctor")
    finally:
        postgres.drop_database(url)
    assert "reachable and empty (the gateway creates the schema)" in out, out
