from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hermes.store import Store


class FakeClock:
    """A clock the test moves by hand, so times in assertions are exact."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
async def store(db_path: Path, database_url: str | None, clock: FakeClock) -> AsyncIterator[Store]:
    """The store on each engine in turn: state.db, then a fresh PostgreSQL database."""
    opened = await Store.open(database_url or db_path, clock=clock)
    yield opened
    await opened.close()
