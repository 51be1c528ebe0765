"""Pytest plugin: a real PostgreSQL 15 for the store and the tests that run on both engines.

- ``postgres``: the session's server, started the first time a test asks for it.
- ``database_url``: per test, either ``None`` (state.db, SQLite) or a new empty PostgreSQL database;
  tests that take it (directly or through ``store``) run once on each engine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.postgres_server import PostgresServer

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(engine: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    if engine == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    yield url
    server.drop_database(url)
