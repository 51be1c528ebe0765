"""The shared documents (PostgreSQL only): revisions in commit order, read-modify-write under one lock,
seeding once, a few revisions of history per path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from hermes.store import Store
from hermes.store.documents import KEEP_REVISIONS
from tests.harness.postgres_server import PostgresServer


@pytest.fixture
async def pg(postgres: PostgresServer) -> AsyncIterator[Store]:
    url = postgres.create_database()
    store = await Store.open(url)
    yield store
    await store.close()
    postgres.drop_database(url)


async def test_the_latest_revision_of_each_path_is_its_content(pg: Store) -> None:
    docs = pg.documents
    assert await docs.latest_revision() == 0
    first = await docs.put("SOUL.md", "one", "a")
    await docs.put("memories/MEMORY.md", "note", "a")
    second = await docs.put("SOUL.md", "two", "b")
    assert second.revision > first.revision
    assert await docs.latest_revision() == second.revision
    changed = await docs.changed_since(0)
    assert [(d.path, d.content, d.replica) for d in changed] == [
        ("memories/MEMORY.md", "note", "a"),
        ("SOUL.md", "two", "b"),
    ]
    assert [d.path for d in await docs.changed_since(first.revision + 1)] == ["SOUL.md"]
    assert await docs.changed_since(second.revision) == []


async def test_putting_what_is_there_already_writes_nothing(pg: Store) -> None:
    stored = await pg.documents.put("SOUL.md", "same", "a")
    assert await pg.documents.put("SOUL.md", "same", "b") == stored
    deleted = await pg.documents.put("SOUL.md", None, "a")
    assert deleted.content is None and await pg.documents.put("SOUL.md", None, "b") == deleted


async def test_concurrent_edits_each_apply_on_top_of_the_last(pg: Store) -> None:
    def adding(entry: str) -> Callable[[str | None], tuple[str, None]]:
        def change(current: str | None) -> tuple[str, None]:
            return (current or "") + entry + "\n", None

        return change

    await asyncio.gather(*(pg.documents.edit("memories/USER.md", adding(f"fact {i}"), "r") for i in range(8)))
    (latest, *_) = await pg.documents.history("memories/USER.md")
    assert sorted((latest.content or "").splitlines()) == sorted(f"fact {i}" for i in range(8))


async def test_an_edit_that_raises_or_changes_nothing_stores_nothing(pg: Store) -> None:
    await pg.documents.put("SOUL.md", "kept", "a")
    revision = await pg.documents.latest_revision()

    def refuse(current: str | None) -> tuple[str, None]:
        raise ValueError("too long")

    with pytest.raises(ValueError, match="too long"):
        await pg.documents.edit("SOUL.md", refuse, "a")
    doc, result = await pg.documents.edit("SOUL.md", lambda current: (current, "unchanged"), "a")
    assert doc is None and result == "unchanged"
    assert await pg.documents.latest_revision() == revision


async def test_only_the_first_seed_is_stored(pg: Store) -> None:
    seeded = await pg.documents.seed([("SOUL.md", "first"), ("memories/MEMORY.md", "m")], "a")
    assert seeded is not None and [d.path for d in seeded] == ["SOUL.md", "memories/MEMORY.md"]
    assert await pg.documents.seed([("SOUL.md", "second")], "b") is None
    assert [d.content for d in await pg.documents.changed_since(0)] == ["first", "m"]


async def test_history_keeps_the_last_revisions_of_a_path(pg: Store) -> None:
    for i in range(KEEP_REVISIONS + 5):
        await pg.documents.put("SOUL.md", f"version {i}", "a")
    await pg.documents.put("memories/MEMORY.md", "other", "a")
    history = await pg.documents.history("SOUL.md")
    assert [d.content for d in history] == [f"version {i}" for i in reversed(range(5, KEEP_REVISIONS + 5))]
