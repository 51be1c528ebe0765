"""Shared documents (PostgreSQL only): the files every replica must agree on, by path relative to
HERMES_HOME, one row per revision.

Writers serialise on a table lock, so revisions become visible in the order they are numbered and a reader
that has seen revision N misses nothing by asking for "after N". The latest revision of a path is its
content; a NULL content says the file was deleted. Older revisions are kept (a few per path), so an edit
overwritten by a concurrent one on another host can still be found.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from hermes.store.connection import Connection, Row
from hermes.store.database import Database

T = TypeVar("T")

# Revisions kept per path, the latest included.
KEEP_REVISIONS = 10

_COLUMNS = "path, content, revision, updated_at, replica"
# Readers are never blocked; a second writer waits for the first to commit.
_LOCK = "LOCK TABLE documents IN SHARE ROW EXCLUSIVE MODE"


@dataclass(frozen=True, slots=True)
class Document:
    path: str
    # None: the file was deleted.
    content: str | None
    revision: int
    updated_at: float
    replica: str


def _document(row: Row) -> Document:
    return Document(row[0], row[1], int(row[2]), float(row[3]), row[4])


class Documents:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def origin(self) -> str:
        """This database's own random id, made when its documents table was."""
        row = await self._db.run(lambda conn: conn.execute("SELECT id FROM documents_origin").fetchone())
        return str(row[0])

    async def latest_revision(self) -> int:
        """The newest revision of any document (0 when there is none): what a replica compares each turn."""
        row = await self._db.run(
            lambda conn: conn.execute("SELECT coalesce(max(revision), 0) FROM documents").fetchone()
        )
        return int(row[0])

    async def changed_since(self, revision: int) -> list[Document]:
        """The latest revision of every path changed after ``revision``, oldest first."""

        def read(conn: Connection) -> list[Document]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM (SELECT DISTINCT ON (path) {_COLUMNS} FROM documents "
                "WHERE revision > ? ORDER BY path, revision DESC) AS latest ORDER BY revision",
                (revision,),
            ).fetchall()
            return [_document(row) for row in rows]

        return await self._db.run(read)

    async def history(self, path: str) -> list[Document]:
        """The revisions kept of ``path``, newest first."""
        rows = await self._db.run(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE path = ? ORDER BY revision DESC", (path,)
            ).fetchall()
        )
        return [_document(row) for row in rows]

    async def put(self, path: str, content: str | None, replica: str) -> Document:
        """Store ``content`` as the latest revision of ``path`` (None: deleted); when that is what the latest
        revision holds already, nothing is written and that revision is returned."""

        def apply(conn: Connection) -> Document:
            conn.execute(_LOCK)
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM documents WHERE path = ? ORDER BY revision DESC LIMIT 1", (path,)
            ).fetchone()
            if row is not None and row[1] == content:
                return _document(row)
            return self._insert(conn, path, content, replica)

        return await self._db.transaction(apply)

    async def edit(
        self, path: str, change: Callable[[str | None], tuple[str | None, T]], replica: str
    ) -> tuple[Document | None, T]:
        """Read-modify-write of ``path`` as one step across every replica: ``change(current)`` returns the
        new content (the current one itself for no change) and a result; it runs under the writers' lock,
        on a database thread, and what it raises aborts the edit. The new revision (None when nothing
        changed) and the result."""

        def apply(conn: Connection) -> tuple[Document | None, T]:
            conn.execute(_LOCK)
            row = conn.execute(
                "SELECT content FROM documents WHERE path = ? ORDER BY revision DESC LIMIT 1", (path,)
            ).fetchone()
            current = None if row is None else row[0]
            updated, result = change(current)
            if updated == current:
                return None, result
            return self._insert(conn, path, updated, replica), result

        return await self._db.transaction(apply)

    async def seed(self, documents: Iterable[tuple[str, str]], replica: str) -> list[Document] | None:
        """Store ``(path, content)`` pairs as the first documents, only when there are none yet; None when
        another replica seeded first (nothing is written then)."""

        def apply(conn: Connection) -> list[Document] | None:
            conn.execute(_LOCK)
            if conn.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is not None:
                return None
            return [self._insert(conn, path, content, replica, prune=False) for path, content in documents]

        return await self._db.transaction(apply)

    def _insert(
        self, conn: Connection, path: str, content: str | None, replica: str, *, prune: bool = True
    ) -> Document:
        row = conn.execute(
            f"INSERT INTO documents (path, content, updated_at, replica) VALUES (?, ?, ?, ?) "
            f"RETURNING {_COLUMNS}",
            (path, content, self._clock(), replica),
        ).fetchone()
        if prune:
            conn.execute(
                "DELETE FROM documents WHERE path = ? AND revision < (SELECT min(revision) FROM "
                "(SELECT revision FROM documents WHERE path = ? ORDER BY revision DESC LIMIT ?) AS kept)",
                (path, path, KEEP_REVISIONS),
            )
        return _document(row)
