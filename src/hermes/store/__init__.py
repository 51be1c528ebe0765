"""state.db: sessions and transcripts, the inbox, platform cursors, jobs and home channels (and, on
PostgreSQL, the files replicas share).

``await Store.open(path)`` opens (creating and migrating as needed) and hands out one repository per concern.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from hermes.store.api_keys import ApiKeys
from hermes.store.api_responses import ApiResponses
from hermes.store.cursors import Cursors
from hermes.store.database import Database
from hermes.store.dialect import POSTGRESQL, is_postgres_url
from hermes.store.documents import Document, Documents
from hermes.store.errors import (
    CorruptDatabaseError,
    ForeignDatabaseError,
    LeaseLostError,
    MigrationError,
    NewerSchemaError,
    NotFoundError,
    StoreError,
)
from hermes.store.homes import HomeChannel, HomeChannels
from hermes.store.inbox import Inbox, InboxEvent
from hermes.store.job_runs import JobRun, JobRuns
from hermes.store.jobs import Job, Jobs
from hermes.store.leases import LeaseFence, Leases, LeaseState, Replica
from hermes.store.sessions import Message, NewMessage, Opening, SearchHit, Session, Sessions, new_session_id

if TYPE_CHECKING:
    from hermes.config.settings import StoreSettings

__all__ = [
    "CorruptDatabaseError",
    "Cursors",
    "Database",
    "Document",
    "Documents",
    "ForeignDatabaseError",
    "HomeChannel",
    "HomeChannels",
    "Inbox",
    "InboxEvent",
    "Job",
    "JobRun",
    "JobRuns",
    "Jobs",
    "LeaseFence",
    "LeaseLostError",
    "LeaseState",
    "Leases",
    "Message",
    "MigrationError",
    "NewMessage",
    "NewerSchemaError",
    "NotFoundError",
    "Opening",
    "Replica",
    "SearchHit",
    "Session",
    "Sessions",
    "Store",
    "StoreError",
    "new_session_id",
]


async def open_database(target: str | Path, *, pool_size: int = 4) -> Database:
    """The store at ``target``: a SQLite file, or a ``postgresql://`` URL served by ``pool_size``
    connections."""
    url = str(target)
    if not is_postgres_url(url):
        return await Database.open(target)
    import psycopg

    from hermes.store import postgres

    # Every connection checks the schema (a no-op after the first migration), so a worker that reconnects
    # after the server restarted finds it as it expects.
    opener = functools.partial(postgres.connect_and_migrate, url)
    return await Database.start(
        postgres.redacted(url),
        POSTGRESQL,
        opener,
        (psycopg.Error,),
        (psycopg.IntegrityError,),
        size=pool_size,
    )


class Store:
    """The repositories over one open state.db."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.sessions = Sessions(db, clock=clock)
        self.inbox = Inbox(db, clock=clock)
        self.cursors = Cursors(db, clock=clock)
        self.jobs = Jobs(db, clock=clock)
        self.job_runs = JobRuns(db, clock=clock)
        self.homes = HomeChannels(db, clock=clock)
        self.leases = Leases(db, clock=clock)
        self.api_responses = ApiResponses(db, clock=clock)
        self.api_keys = ApiKeys(db, clock=clock)
        # PostgreSQL only: the files replicas share (agent.shared_home).
        self.documents = Documents(db, clock=clock)

    @classmethod
    async def open(
        cls, target: str | Path, *, clock: Callable[[], float] = time.time, pool_size: int = 4
    ) -> Store:
        """``target`` is a SQLite file, or a ``postgresql://`` URL served by a pool of ``pool_size``."""
        return cls(await open_database(target, pool_size=pool_size), clock=clock)

    @classmethod
    async def configured(
        cls, settings: StoreSettings, state_db: Path, *, clock: Callable[[], float] = time.time
    ) -> Store:
        """The store the operator configured: PostgreSQL at ``store.url``, else ``state_db``."""
        return await cls.open(settings.target(state_db), clock=clock, pool_size=settings.pool_size)

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
