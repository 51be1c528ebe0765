"""Pytest plugin: a real PostgreSQL 15 for the store and the suites that run on both engines.

- ``postgres``: the session's server, started the first time a test asks for it.
- ``database_url``: per test, either ``None`` (state.db, SQLite) or a new PostgreSQL database as the
  migrations leave it; tests that take it (directly or through ``store`` or ``store_env``) run once on
  each engine. ``new_database`` makes more, for tests with several deployments.
- ``store_env``: the ``.env`` entries that point a home at ``database_url`` (none on SQLite), so a gateway
  in this process or in a subprocess finds it as an operator's would; ``new_store_env`` makes more.

In the suites listed in ``BOTH_ENGINES`` every test must run on both engines, or be marked
``@pytest.mark.one_engine("why")``: a test that forgot its engine would otherwise pass on SQLite twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.harness.postgres_server import PostgresServer

ENGINES = ("sqlite", "postgresql")
BOTH_ENGINES = ("tests/integration/gateway/", "tests/integration/api_server/")


def pytest_configure(config: pytest.Config) -> None:
    # Gateways and commands the tests start inherit this process's environment: the database of whoever
    # runs the tests must never be the one they write to. Each test names its own.
    os.environ.pop("HERMES_DATABASE_URL", None)
    config.addinivalue_line(
        "markers", "one_engine(reason): the test does not depend on the store's engine, for this reason"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if item.nodeid.startswith(BOTH_ENGINES)
        and "engine" not in getattr(item, "fixturenames", ())
        and item.get_closest_marker("one_engine") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests must run on both engines (take `store_env`, `database_url` or a fixture built on "
            "them) or say why not with @pytest.mark.one_engine(reason):\n  " + "\n  ".join(unmarked)
        )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_database(engine: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], str | None]]:
    """Per call another database on this test's engine: ``None`` on SQLite (each home has its state.db),
    else the URL of a fresh PostgreSQL database (as the migrations leave it), emptied after the test for the
    next one."""
    created: list[str] = []

    def new() -> str | None:
        if engine == "sqlite":
            return None
        server: PostgresServer = request.getfixturevalue("postgres")
        created.append(server.fresh_database())
        return created[-1]

    yield new
    if created:
        server: PostgresServer = request.getfixturevalue("postgres")
        for url in created:
            server.release(url)


@pytest.fixture
def database_url(new_database: Callable[[], str | None]) -> str | None:
    return new_database()


@pytest.fixture
def new_store_env(new_database: Callable[[], str | None]) -> Callable[[], dict[str, str]]:
    """Per call the `.env` entries of another deployment on this test's engine, for tests with several."""

    def new() -> dict[str, str]:
        url = new_database()
        return {"HERMES_DATABASE_URL": url} if url else {}

    return new


@pytest.fixture
def store_env(database_url: str | None) -> dict[str, str]:
    return {"HERMES_DATABASE_URL": database_url} if database_url else {}
