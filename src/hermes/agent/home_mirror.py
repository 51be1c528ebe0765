"""The files side of a shared home (`agent.shared_home`): which files of HERMES_HOME replicas share, what
may be shared, and this home's mirror of the database's documents. Blocking: call from a thread.

The mirror remembers, per file, the revision it last held and the file's stamp and hash as written or
stored, so a file changed by anyone else (an editor, `hermes memory`, a tool) is told apart from one
that only holds what was mirrored. That record survives restarts in `.shared-documents.json`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hermes.agent.memory import MEMORY_LIMIT, SOUL_LIMIT, USER_LIMIT
from hermes.agent.skills import parse_front_matter
from hermes.fileio import write_atomic
from hermes.store import Document

log = logging.getLogger(__name__)

SHARED_DIRECTORIES = ("memories", "skills")
SOUL = "SOUL.md"
STATE_FILE = ".shared-documents.json"
REPLACED_DIRECTORY = ".replaced"
# Larger files (a skill's data, say) stay on their host: the documents are instructions and notes.
MAX_DOCUMENT_BYTES = 1024 * 1024

# (inode, mtime in ns, size): a file renamed over keeps its inode and mtime, so this names one content.
Stamp = tuple[int, int, int]


class RefusedDocument(ValueError):
    """A file that cannot be shared; the message says why, for the operator."""


@dataclass
class Mirrored:
    """What this home last held of a document, as stored in the database."""

    revision: int
    # None: the document is deleted.
    sha: str | None
    stamp: Stamp | None


@dataclass(frozen=True)
class LocalEdit:
    """A file that holds something else than what was last mirrored."""

    rel: str
    # None: the file was deleted here.
    data: bytes | None
    sha: str | None
    stamp: Stamp | None


def is_shared_path(rel: str) -> bool:
    """SOUL.md, or a file under memories/ or skills/ that no dot hides: what replicas share, and all they
    accept from the database."""
    if rel == SOUL:
        return True
    parts = rel.split("/")
    return (
        len(parts) > 1
        and parts[0] in SHARED_DIRECTORIES
        and all(part and not part.startswith(".") for part in parts)
    )


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


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stamp(stat: os.stat_result) -> Stamp:
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class HomeMirror:
    def __init__(self, home: Path) -> None:
        self.home = home
        # The database's own id (`Documents.origin`) the record speaks of: another one means starting over.
        self._origin = ""
        self.mirrored: dict[str, Mirrored] = {}
        # The highest revision mirrored: the database is asked for what came after.
        self.seen = 0
        # Refused files that stay here, by the stamp they were refused at (reported once per change).
        self._refused: dict[str, Stamp] = {}
        self._saved = ""

    def rel(self, path: Path) -> str:
        return path.relative_to(self.home).as_posix()

    def record(self, rel: str, revision: int, edit: LocalEdit) -> None:
        """`edit` is stored as `revision`."""
        self.mirrored[rel] = Mirrored(revision, edit.sha, edit.stamp)
        self._refused.pop(rel, None)

    def first_refusal(self, edit: LocalEdit) -> bool:
        """Whether this version of a refused file that stays here is new (to be reported)."""
        if edit.stamp is not None and self._refused.get(edit.rel) == edit.stamp:
            return False
        if edit.stamp is not None:
            self._refused[edit.rel] = edit.stamp
        return True

    def walk(self) -> Iterator[str]:
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

    def local_changes(self) -> list[LocalEdit]:
        """Every shared file changed here since it was last mirrored or stored, deletions included."""
        found: list[LocalEdit] = []
        present = set()
        for rel in self.walk():
            present.add(rel)
            edit = self.local_change(rel)
            if edit is not None:
                found.append(edit)
        gone: set[str] = set()
        for rel, mirrored in list(self.mirrored.items()):
            if mirrored.sha is None or rel in present or (self.home / rel).exists():
                continue
            top = rel.split("/", 1)[0]
            if rel == SOUL or (self.home / top).is_dir():
                found.append(LocalEdit(rel, None, None, None))
            else:
                # A whole shared directory missing is a lost mount or a mistake more likely than a wish to
                # delete it on every replica: it is mirrored back instead.
                gone.add(top)
                del self.mirrored[rel]
        if gone:
            log.warning(
                "shared documents: %s missing from %s; putting back the shared files rather than deleting "
                "them on every replica",
                " and ".join(f"{top}/" for top in sorted(gone)),
                self.home,
            )
            self.seen = 0
        return found

    def local_change(self, rel: str) -> LocalEdit | None:
        """The file `rel` when it holds something other than what was last mirrored; None otherwise."""
        path = self.home / rel
        mirrored = self.mirrored.get(rel)
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
        digest = sha(data)
        if mirrored is not None and mirrored.sha == digest:
            mirrored.stamp = stamp
            return None
        return LocalEdit(rel, data, digest, stamp)

    def mirror(self, doc: Document, *, adopting: bool) -> LocalEdit | None:
        """Put `doc` in this home. A file edited here since it was last mirrored is left alone and returned
        (to be stored over `doc`), except when adopting, where the database's version wins."""
        mirrored = self.mirrored.get(doc.path)
        if mirrored is not None and mirrored.revision >= doc.revision:
            return None
        wanted = None if doc.content is None else sha(doc.content.encode())
        local = self.local_change(doc.path)
        if local is not None and local.sha == wanted:
            self.mirrored[doc.path] = Mirrored(doc.revision, wanted, local.stamp)
            return None
        if local is not None and not adopting:
            return local
        if local is not None:
            aside = self.move_aside(doc.path)
            log.warning(
                "shared documents: %s differed from the shared version; moved it to %s",
                self.home / doc.path,
                aside,
            )
        self.write(doc)
        return None

    def write(self, doc: Document) -> None:
        """Make the file hold `doc` (temp + fsync + rename; removed for a deletion)."""
        path = self.home / doc.path
        if self._refused.pop(doc.path, None) is not None and path.exists():
            aside = self.move_aside(doc.path)
            log.warning(
                "shared documents: the refused %s was moved to %s for the shared version", path, aside
            )
        if doc.content is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self._prune_directories(path.parent)
            self.mirrored[doc.path] = Mirrored(doc.revision, None, None)
            return
        data = doc.content.encode()
        stamp = _stamp(write_atomic(path, data))
        self.mirrored[doc.path] = Mirrored(doc.revision, sha(data), stamp)

    def _prune_directories(self, directory: Path) -> None:
        """Remove directories a deletion left empty (a deleted skill's), up to the shared directory."""
        tops = {self.home / top for top in SHARED_DIRECTORIES}
        while directory not in tops and directory != self.home and directory.is_relative_to(self.home):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def move_aside(self, rel: str) -> Path:
        """Keep a file that is about to be replaced under `.replaced/`, with the time appended."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.home / REPLACED_DIRECTORY / f"{rel}.{stamp}"
        target.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        while target.exists():
            count += 1
            target = target.with_name(f"{rel.rsplit('/', 1)[-1]}.{stamp}.{count}")
        os.replace(self.home / rel, target)
        return target

    def forget(self) -> None:
        """Start over, as a home that never synced (its files are compared with the database afresh)."""
        self.seen, self.mirrored = 0, {}

    def load_state(self, origin: str) -> bool:
        """What this home last mirrored from the database `origin` names; False when it never synced with
        that one."""
        self._origin = origin
        try:
            state = json.loads((self.home / STATE_FILE).read_text(encoding="utf-8"))
            if state["database"] != origin:
                return False
            self.seen = int(state["seen"])
            self.mirrored = {
                rel: Mirrored(
                    int(revision), digest, None if stamp is None else (stamp[0], stamp[1], stamp[2])
                )
                for rel, (revision, digest, stamp) in state["files"].items()
            }
        except FileNotFoundError:
            return False
        except (ValueError, KeyError, TypeError) as exc:
            log.warning(
                "shared documents: %s is unreadable (%s); taking the database's versions", STATE_FILE, exc
            )
            self.forget()
            return False
        return True

    def save_state(self) -> None:
        state = {
            "database": self._origin,
            "seen": self.seen,
            "files": {rel: [m.revision, m.sha, m.stamp] for rel, m in sorted(self.mirrored.items())},
        }
        text = json.dumps(state)
        # The poll saves after every look; the file is rewritten only when something changed.
        if text != self._saved:
            write_atomic(self.home / STATE_FILE, text, durable=False)
            self._saved = text
