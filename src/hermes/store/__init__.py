"""state.db: sessions and transcripts, the inbox, platform cursors, jobs and home channels.

``await Store.open(path)`` opens (creating and migrating as needed) and hands out one repository per concern.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from hermes.store.api_keys import ApiKeys
from hermes.store.api_responses import ApiResponses
from hermes.store.api_sessions import ApiSessions
from hermes.store.cursors import Cursors
from hermes.store.database import Database
from hermes.store.errors import (
    CorruptDatabaseError,
    ForeignDatabaseError,
    MigrationError,
    NewerSchemaError,
    NotFoundError,
    StoreError,
)
from hermes.store.homes import HomeChannel, HomeChannels
from hermes.store.inbox import Inbox, InboxEvent
from hermes.store.jobs import Job, Jobs
from hermes.store.sessions import Message, NewMessage, SearchHit, Session, Sessions

__all__ = [
    "CorruptDatabaseError",
    "Cursors",
    "Database",
    "ForeignDatabaseError",
    "HomeChannel",
    "HomeChannels",
    "Inbox",
    "InboxEvent",
    "Job",
    "Jobs",
    "Message",
    "MigrationError",
    "NewMessage",
    "NewerSchemaError",
    "NotFoundError",
    "SearchHit",
    "Session",
    "Sessions",
    "Store",
    "StoreError",
]


class Store:
    """The repositories over one open state.db."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.sessions = Sessions(db, clock=clock)
        self.inbox = Inbox(db, clock=clock)
        self.cursors = Cursors(db, clock=clock)
        self.jobs = Jobs(db, clock=clock)
        self.homes = HomeChannels(db, clock=clock)
        self.api_responses = ApiResponses(db, clock=clock)
        self.api_keys = ApiKeys(db, clock=clock)
        self.api_sessions = ApiSessions(db, clock=clock)

    @classmethod
    async def open(cls, path: str | Path, *, clock: Callable[[], float] = time.time) -> Store:
        return cls(await Database.open(path), clock=clock)

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
