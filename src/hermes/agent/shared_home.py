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
import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from hermes.agent.memory import MEMORY_LIMIT, SOUL_LIMIT, USER_LIMIT
from hermes.agent.skills import parse_front_matter
from hermes.fileio import write_atomic
from hermes.store import Document, Documents, Store, StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

SHARED_DIRECTORIES = ("memories", "skills")
SOUL = "SOUL.md"
STATE_FILE = ".shared-documents.json"
REPLACED_DIRECTORY = ".replaced"
POLL_SECONDS = 2.0
# Larger files (a skill's data, say) stay on their host: the documents are instructions and notes.
MAX_DOCUMENT_BYTES = 1024 * 1024

# (inode, mtime in ns, size): a file renamed over keeps its inode and mtime, so this names one content.
Stamp = tuple[int, int, int]


class RefusedDocument(ValueError):
    """A file that cannot be shared; the message says why, for the operator."""


@dataclass
class _Mirrored:
    """What this home last held of a document, as stored in the database."""

    revision: int
    # None: the document is deleted.
    sha: str | None
    stamp: Stamp | None


@dataclass(frozen=True)
class _LocalEdit:
    rel: str
    # None: the file was deleted here.
    data: bytes | None
    sha: str | None
    stamp: Stamp | None


def check_document(rel: str, data: bytes) -> str:
    """The text of a file that may be shared, or RefusedDocument naming what is wrong with it."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise RefusedDocument(
            f"it is larger than the {MAX_DOCUMENT_BYTES // 1024} KiB a shared file may hold"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RefusedDocument(
            f"it is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from None
    name = rel.rsplit("/", 1)[-1]
    limit = None
    if rel == SOUL:
        limit = SOUL_LIMIT
    elif rel.startswith("memories/") and name in ("MEMORY.md", "USER.md"):
        limit = MEMORY_LIMIT if name == "MEMORY.md" else USER_LIMIT
    if limit is not None and len(text.strip()) > limit:
        raise RefusedDocument(f"it holds {len(text.strip())} chars, over its {limit}-char limit")
    # Without front matter a skill is listed by its directory's name, as on one host; front matter that is
    # there but unreadable is a mistake that would lose its name and description on every replica.
    if (
        rel.startswith("skills/")
        and name == "SKILL.md"
        and text.startswith("---")
        and not parse_front_matter(text)
    ):
        raise RefusedDocument(
            "its front matter is not readable: it must be YAML with name and description between two "
            "'---' lines"
        )
    return text


def is_shared_path(rel: str) -> bool:
    """SOUL.md, or a file under memories/ or skills/ that no dot hides: what replicas share, and all they
    accept from the database."""
    parts = rel.split("/")
    if rel == SOUL:
        return True
    return (
        len(parts) > 1
        and parts[0] in SHARED_DIRECTORIES
        and all(part and not part.startswith(".") for part in parts)
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stamp(stat: os.stat_result) -> Stamp:
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SharedHome:
    def __init__(
        self,
        home: Path,
        documents: Documents,
        *,
        database: str,
        replica: str | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.home = home
        self._documents = documents
        # Which database the state file speaks of: another one means starting over.
        self._database = database
        self._replica = replica or replica_name()
        self._poll_seconds = poll_seconds
        self._mirrored: dict[str, _Mirrored] = {}
        self._seen = 0
        # Refused files that stay here, by the stamp they were refused at (logged once per change).
        self._refused: dict[str, Stamp] = {}
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
        return cls(home, store.documents, database=store.db.where)

    async def start(self) -> None:
        """Bring this home and the database in step (see the module's doc), then keep them so."""
        async with self._lock:
            if self._started:
                return
            adopting = not await asyncio.to_thread(self._load_state)
            if adopting and await self._seed():
                log.info("shared documents: stored this home's files as the first ones")
            else:
                await self._sync(scan=True, adopting=adopting)
            await asyncio.to_thread(self._save_state)
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
            await self._sync(scan=True, adopting=False)
            await asyncio.to_thread(self._save_state)

    async def edit(self, path: Path, change: Callable[[str], tuple[str, T]]) -> T:
        """Change one document as one read-modify-write in the database, on top of whatever any replica
        stored last, then mirror the result here. `change(current)` returns the new text (the same text:
        no change) and a result; what it raises aborts the edit."""
        rel = self._rel(path)

        def apply(current: str | None) -> tuple[str | None, T]:
            text = current or ""
            updated, result = change(text)
            return (current if updated == text else updated), result

        async with self._lock:
            # An edit made here since the last scan goes in first, so this change applies on top of it.
            local = await asyncio.to_thread(self._local_change, rel)
            if local is not None:
                await self._import(local)
            doc, result = await self._documents.edit(rel, apply, self._replica)
            if doc is not None:
                await asyncio.to_thread(self._write, doc)
                await asyncio.to_thread(self._save_state)
        return result

    async def _check(self) -> None:
        try:
            if await self._documents.latest_revision() <= self._seen:
                return
            async with self._lock:
                await self._pull(adopting=False)
                await asyncio.to_thread(self._save_state)
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
        files: dict[str, tuple[str, _LocalEdit]] = {}
        for edit in await asyncio.to_thread(self._local_changes):
            if edit.data is None:
                continue
            try:
                files[edit.rel] = (check_document(edit.rel, edit.data), edit)
            except RefusedDocument as exc:
                self._log_refused(edit, exc, kept=True)
        stored = await self._documents.seed(((rel, text) for rel, (text, _) in files.items()), self._replica)
        if stored is None:
            return False
        for doc in stored:
            edit = files[doc.path][1]
            self._mirrored[doc.path] = _Mirrored(doc.revision, edit.sha, edit.stamp)
            self._seen = max(self._seen, doc.revision)
        return True

    async def _sync(self, *, scan: bool, adopting: bool) -> None:
        """Local edits out, then the database's changes in; a replica adopting the database's documents
        takes them first, then adds the files the database lacks."""
        if adopting:
            await self._pull(adopting=True)
        if scan:
            for edit in await asyncio.to_thread(self._local_changes):
                await self._import(edit)
        if not adopting:
            await self._pull(adopting=False)

    async def _pull(self, *, adopting: bool) -> None:
        changed = await self._documents.changed_since(self._seen)
        for doc in changed:
            if not is_shared_path(doc.path):
                log.warning(
                    "shared documents: ignoring %r from the database: not a shared file's path", doc.path
                )
                self._seen = max(self._seen, doc.revision)
                continue
            local = await asyncio.to_thread(self._mirror, doc, adopting)
            if local is not None:
                # Edited here meanwhile: this edit is the later one, so it goes in over the database's.
                await self._import(local)
            self._seen = max(self._seen, doc.revision)

    async def _import(self, edit: _LocalEdit) -> None:
        if edit.data is None:
            doc = await self._documents.put(edit.rel, None, self._replica)
            self._mirrored[edit.rel] = _Mirrored(doc.revision, None, None)
            log.info("shared documents: %s deleted here; deleted on every replica", edit.rel)
            return
        try:
            text = check_document(edit.rel, edit.data)
        except RefusedDocument as exc:
            await self._refuse(edit, exc)
            return
        doc = await self._documents.put(edit.rel, text, self._replica)
        self._mirrored[edit.rel] = _Mirrored(doc.revision, edit.sha, edit.stamp)
        self._refused.pop(edit.rel, None)
        log.info("shared documents: %s changed here; stored as revision %d", edit.rel, doc.revision)

    async def _refuse(self, edit: _LocalEdit, problem: RefusedDocument) -> None:
        history = await self._documents.history(edit.rel)
        if not history:
            self._log_refused(edit, problem, kept=True)
            return
        aside = await asyncio.to_thread(self._move_aside, edit.rel)
        log.error(
            "shared documents: %s was not shared: %s; it was moved to %s and the shared version put back",
            self.home / edit.rel,
            problem,
            aside,
        )
        await asyncio.to_thread(self._write, history[0])

    def _log_refused(self, edit: _LocalEdit, problem: RefusedDocument, *, kept: bool) -> None:
        if edit.stamp is not None and self._refused.get(edit.rel) == edit.stamp:
            return
        if edit.stamp is not None:
            self._refused[edit.rel] = edit.stamp
        log.error("shared documents: %s is not shared with other replicas: %s", self.home / edit.rel, problem)

    # Below: file work, on a thread.

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.home).as_posix()

    def _walk(self) -> Iterator[str]:
        if (self.home / SOUL).is_file():
            yield SOUL
        for top in SHARED_DIRECTORIES:
            for directory, subdirectories, names in os.walk(self.home / top):
                subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
                base = Path(directory).relative_to(self.home).as_posix()
                for name in sorted(names):
                    # Dot files include the temp files of writes in progress.
                    if not name.startswith("."):
                        yield f"{base}/{name}"

    def _local_changes(self) -> list[_LocalEdit]:
        found: list[_LocalEdit] = []
        present = set()
        for rel in self._walk():
            present.add(rel)
            edit = self._local_change(rel)
            if edit is not None:
                found.append(edit)
        for rel, mirrored in self._mirrored.items():
            if mirrored.sha is not None and rel not in present and not (self.home / rel).exists():
                found.append(_LocalEdit(rel, None, None, None))
        return found

    def _local_change(self, rel: str) -> _LocalEdit | None:
        """The file `rel` when it holds something other than what was last mirrored; None otherwise."""
        path = self.home / rel
        mirrored = self._mirrored.get(rel)
        try:
            stamp = _stamp(path.stat())
        except FileNotFoundError:
            return None
        if mirrored is not None and mirrored.stamp == stamp:
            return None
        if self._refused.get(rel) == stamp:
            return None
        try:
            with path.open("rb") as file:
                # Stamp and content of the same inode, even if the file is renamed over meanwhile.
                stamp = _stamp(os.fstat(file.fileno()))
                data = file.read(MAX_DOCUMENT_BYTES + 1)
        except (FileNotFoundError, IsADirectoryError):
            return None
        sha = _sha(data)
        if mirrored is not None and mirrored.sha == sha:
            mirrored.stamp = stamp
            return None
        return _LocalEdit(rel, data, sha, stamp)

    def _mirror(self, doc: Document, adopting: bool) -> _LocalEdit | None:
        """Put `doc` in this home. A file edited here since it was last mirrored is left alone and returned
        (to be stored over `doc`), except when adopting, where the database's version wins."""
        mirrored = self._mirrored.get(doc.path)
        if mirrored is not None and mirrored.revision >= doc.revision:
            return None
        wanted = None if doc.content is None else _sha(doc.content.encode())
        local = self._local_change(doc.path)
        if local is not None and local.sha == wanted:
            self._mirrored[doc.path] = _Mirrored(doc.revision, wanted, local.stamp)
            return None
        if local is not None and not adopting:
            return local
        if local is not None:
            aside = self._move_aside(doc.path)
            log.warning(
                "shared documents: %s differed from the shared version; moved it to %s",
                self.home / doc.path,
                aside,
            )
        self._write(doc)
        return None

    def _write(self, doc: Document) -> None:
        path = self.home / doc.path
        if self._refused.pop(doc.path, None) is not None and path.exists():
            aside = self._move_aside(doc.path)
            log.warning(
                "shared documents: the refused %s was moved to %s for the shared version", path, aside
            )
        if doc.content is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self._prune_directories(path.parent)
            self._mirrored[doc.path] = _Mirrored(doc.revision, None, None)
            return
        data = doc.content.encode()
        stamp = _stamp(write_atomic(path, data))
        self._mirrored[doc.path] = _Mirrored(doc.revision, _sha(data), stamp)

    def _prune_directories(self, directory: Path) -> None:
        """Remove directories a deletion left empty (a deleted skill's), up to the shared directory."""
        tops = {self.home / top for top in SHARED_DIRECTORIES}
        while directory not in tops and directory != self.home and directory.is_relative_to(self.home):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def _move_aside(self, rel: str) -> Path:
        target = self.home / REPLACED_DIRECTORY / f"{rel}.{time.strftime('%Y%m%d-%H%M%S')}"
        target.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        while target.exists():
            count += 1
            target = target.with_name(f"{rel.rsplit('/', 1)[-1]}.{time.strftime('%Y%m%d-%H%M%S')}.{count}")
        os.replace(self.home / rel, target)
        return target

    def _load_state(self) -> bool:
        """What this home last mirrored from this database; False when it never synced with it."""
        try:
            state = json.loads((self.home / STATE_FILE).read_text(encoding="utf-8"))
            if state["database"] != self._database:
                return False
            self._seen = int(state["seen"])
            self._mirrored = {
                rel: _Mirrored(int(revision), sha, None if stamp is None else (stamp[0], stamp[1], stamp[2]))
                for rel, (revision, sha, stamp) in state["files"].items()
            }
        except FileNotFoundError:
            return False
        except (ValueError, KeyError, TypeError) as exc:
            log.warning(
                "shared documents: %s is unreadable (%s); taking the database's versions", STATE_FILE, exc
            )
            self._seen, self._mirrored = 0, {}
            return False
        return True

    def _save_state(self) -> None:
        state = {
            "database": self._database,
            "seen": self._seen,
            "files": {rel: [m.revision, m.sha, m.stamp] for rel, m in sorted(self._mirrored.items())},
        }
        write_atomic(self.home / STATE_FILE, json.dumps(state), durable=False)
