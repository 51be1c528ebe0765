"""With PostgreSQL: `SOUL.md`, `memories/` and `skills/` the same on every replica.

The database holds the documents (`store.documents`, by path relative to HERMES_HOME); each replica
mirrors them into its own HERMES_HOME (temp + fsync + rename), so everything that reads or edits the
files there (the prompt, the tools, `hermes memory`, the dashboard, an operator's editor) keeps working
as on a single host. Changes travel both ways:

- out: a file changed in this home since it was last mirrored (its inode, mtime or size moved and its
  content differs) is stored as a new revision. The home is scanned every `poll_seconds` and after every
  turn that ran a tool; the agent's memory edits are stored at once, as one read-modify-write in the
  database, so two replicas saving memory at the same moment both keep their entries.
- in: each turn asks the database for its newest revision (one small query) and mirrors what changed.

Concurrent edits of one file on two hosts: the one that reaches the database last wins; the other stays
in the database's history of the file (`Documents.history`). A file that cannot be shared (not UTF-8,
over its limit, a SKILL.md with unreadable front matter) is refused with an error in the log: when the
database has a version of it, the refused file is moved to `HERMES_HOME/.replaced/` and that version put
back; otherwise it stays where it is, on this host only.

At start, a replica whose database holds no documents yet seeds it with its files. A replica that has
never synced with this database takes the database's version of every file (its own differing copies
are moved to `.replaced/`) and contributes the files the database does not have. A replica that ran
before (`.shared-documents.json` records what it last mirrored) stores what was edited while it was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hermes.agent.home_mirror import HomeMirror, LocalEdit, RefusedDocument, check_document, is_shared_path
from hermes.store import Documents, Store, StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

POLL_SECONDS = 2.0


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SharedHome:
    def __init__(
        self,
        home: Path,
        documents: Documents,
        *,
        replica: str | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.home = home
        self._documents = documents
        self._files = HomeMirror(home)
        self._replica = replica or replica_name()
        self._poll_seconds = poll_seconds
        # One change at a time: the mirror's record and the files move together.
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._checking: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = False

    @classmethod
    def for_store(cls, home: Path, store: Store | None) -> SharedHome | None:
        """The shared home for a store on PostgreSQL; None for SQLite, where the files are all there is."""
        if store is None or store.db.dialect.name != "postgresql":
            return None
        return cls(home, store.documents)

    async def start(self) -> None:
        """Bring this home and the database in step (see the module's doc), then keep them so."""
        async with self._lock:
            if self._started:
                return
            origin = await self._documents.origin()
            adopting = not await asyncio.to_thread(self._files.load_state, origin)
            if adopting and await self._seed():
                log.info("shared documents: stored this home's files as the first ones")
            else:
                await self._sync(adopting=adopting)
            await asyncio.to_thread(self._files.save_state)
            self._started = True
        self._task = asyncio.create_task(self._keep_in_step(), name="shared-home")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def poke(self) -> None:
        """Look for changed files now rather than at the next poll (a tool may have written some)."""
        self._wake.set()

    async def refresh(self) -> None:
        """Before a turn: mirror what other replicas stored since the last look. One query when nothing
        changed, shared by the turns that start while it runs. A database that cannot be reached leaves the
        files as they are (logged), so the turn goes on."""
        checking = self._checking
        if checking is None:
            checking = self._checking = asyncio.ensure_future(self._check())
            checking.add_done_callback(self._checked)
        await asyncio.shield(checking)

    async def sync(self) -> None:
        """Store what changed in this home, then mirror what changed in the database (what the poll does)."""
        async with self._lock:
            await self._sync(adopting=False)
            await asyncio.to_thread(self._files.save_state)

    async def edit(self, path: Path, change: Callable[[str], tuple[str, T]]) -> T:
        """Change one document as one read-modify-write in the database, on top of whatever any replica
        stored last, then mirror the result here. `change(current)` returns the new text (the same text:
        no change) and a result; what it raises aborts the edit."""
        rel = self._files.rel(path)

        def apply(current: str | None) -> tuple[str | None, T]:
            text = current or ""
            updated, result = change(text)
            return (current if updated == text else updated), result

        async with self._lock:
            # An edit made here since the last scan goes in first, so this change applies on top of it.
            local = await asyncio.to_thread(self._files.local_change, rel)
            if local is not None:
                await self._import(local)
            doc, result = await self._documents.edit(rel, apply, self._replica)
            if doc is not None:
                await asyncio.to_thread(self._files.write, doc)
                await asyncio.to_thread(self._files.save_state)
        return result

    async def _check(self) -> None:
        try:
            if await self._documents.latest_revision() <= self._files.seen:
                return
            async with self._lock:
                await self._pull(adopting=False)
                await asyncio.to_thread(self._files.save_state)
        except StoreError as exc:
            log.warning("shared documents: could not check the database, using this home's files: %s", exc)
        except OSError as exc:
            log.error(
                "shared documents: could not mirror into %s, using its files as they are: %s", self.home, exc
            )

    def _checked(self, _: asyncio.Future[None]) -> None:
        self._checking = None

    async def _keep_in_step(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.sync()
            except StoreError as exc:
                log.warning("shared documents: could not sync with the database (retrying): %s", exc)
            except OSError as exc:
                log.error("shared documents: could not read or write %s: %s", self.home, exc)
            except Exception:
                log.exception("shared documents: syncing failed (retrying)")

    async def _seed(self) -> bool:
        if await self._documents.latest_revision() > 0:
            return False
        files: dict[str, tuple[str, LocalEdit]] = {}
        for edit in await asyncio.to_thread(self._files.local_changes):
            if edit.data is None:
                continue
            try:
                files[edit.rel] = (check_document(edit.rel, edit.data), edit)
            except RefusedDocument as exc:
                self._report_kept(edit, exc)
        stored = await self._documents.seed(((rel, text) for rel, (text, _) in files.items()), self._replica)
        if stored is None:
            return False
        for doc in stored:
            self._files.record(doc.path, doc.revision, files[doc.path][1])
            self._files.seen = max(self._files.seen, doc.revision)
        return True

    async def _sync(self, *, adopting: bool) -> None:
        """Local edits out, then the database's changes in; a replica adopting the database's documents
        takes them first, then adds the files the database lacks."""
        if adopting:
            await self._pull(adopting=True)
        for edit in await asyncio.to_thread(self._files.local_changes):
            await self._import(edit)
        if not adopting:
            await self._pull(adopting=False)

    async def _pull(self, *, adopting: bool) -> None:
        for doc in await self._documents.changed_since(self._files.seen):
            if not is_shared_path(doc.path):
                log.warning(
                    "shared documents: ignoring %r from the database: not a shared file's path", doc.path
                )
            else:
                local = await asyncio.to_thread(self._files.mirror, doc, adopting=adopting)
                if local is not None:
                    # Edited here meanwhile: this edit is the later one, so it goes in over the database's.
                    await self._import(local)
            self._files.seen = max(self._files.seen, doc.revision)

    async def _import(self, edit: LocalEdit) -> None:
        if edit.data is None:
            doc = await self._documents.put(edit.rel, None, self._replica)
            self._files.record(edit.rel, doc.revision, edit)
            log.info("shared documents: %s deleted here; deleted on every replica", edit.rel)
            return
        try:
            text = check_document(edit.rel, edit.data)
        except RefusedDocument as exc:
            await self._refuse(edit, exc)
            return
        doc = await self._documents.put(edit.rel, text, self._replica)
        self._files.record(edit.rel, doc.revision, edit)
        log.info("shared documents: %s changed here; stored as revision %d", edit.rel, doc.revision)

    async def _refuse(self, edit: LocalEdit, problem: RefusedDocument) -> None:
        history = await self._documents.history(edit.rel)
        if not history:
            self._report_kept(edit, problem)
            return
        aside = await asyncio.to_thread(self._files.move_aside, edit.rel)
        log.error(
            "shared documents: %s was not shared: %s; it was moved to %s and the shared version put back",
            self.home / edit.rel,
            problem,
            aside,
        )
        await asyncio.to_thread(self._files.write, history[0])

    def _report_kept(self, edit: LocalEdit, problem: RefusedDocument) -> None:
        if self._files.first_refusal(edit):
            log.error(
                "shared documents: %s is not shared with other replicas: %s", self.home / edit.rel, problem
            )
