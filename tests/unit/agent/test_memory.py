import asyncio
import os
from pathlib import Path

import pytest

from hermes.agent.memory import (
    DEFAULT_SOUL,
    MAX_READ_BYTES,
    MEMORY_LIMIT,
    SOUL_LIMIT,
    USER_LIMIT,
    MemoryEditError,
    MemoryFiles,
    join_entries,
    split_entries,
)
from hermes.config.paths import HermesPaths


@pytest.fixture
def memory(tmp_path: Path) -> MemoryFiles:
    files = MemoryFiles(HermesPaths(tmp_path))
    files.ensure_defaults()
    return files


def external_write(path: Path, text: str) -> None:
    """What other programs do: write a temp file beside it and rename it over."""
    tmp = path.with_name(f".{path.name}.external")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_entries_are_separated_by_lines_holding_only_the_section_sign() -> None:
    text = "first entry\nstill first\n§\nsecond\n  §  \nthird § not a separator\n§\n\n§\n"
    assert split_entries(text) == ["first entry\nstill first", "second", "third § not a separator"]
    assert split_entries(join_entries(["a", "b\nc"])) == ["a", "b\nc"]
    assert join_entries(["a", "b"]) == "a\n§\nb\n"


def test_first_run_writes_a_default_soul_and_keeps_an_existing_one(tmp_path: Path) -> None:
    paths = HermesPaths(tmp_path)
    MemoryFiles(paths).ensure_defaults()
    assert paths.soul_file.read_text() == DEFAULT_SOUL
    assert paths.memories.is_dir()
    paths.soul_file.write_text("I am someone else.")
    MemoryFiles(paths).ensure_defaults()
    assert paths.soul_file.read_text() == "I am someone else."


async def test_add_replace_remove(memory: MemoryFiles) -> None:
    assert "Saved" in await memory.add("memory", "Project lives in ~/src/app")
    await memory.add("memory", "Deploys happen on Fridays")
    assert await memory.entries("memory") == ["Project lives in ~/src/app", "Deploys happen on Fridays"]
    await memory.replace("memory", "Fridays", "Deploys happen on Mondays")
    await memory.remove("memory", "~/src/app")
    assert await memory.entries("memory") == ["Deploys happen on Mondays"]
    assert memory.path("memory").read_text() == "Deploys happen on Mondays\n"


async def test_adding_the_same_entry_twice_changes_nothing(memory: MemoryFiles) -> None:
    await memory.add("user", "Prefers short answers")
    assert "already saved" in await memory.add("user", "Prefers short answers")
    assert await memory.entries("user") == ["Prefers short answers"]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (lambda m: m.replace("memory", "absent", "x"), "no entry"),
        (lambda m: m.remove("memory", "shared"), "2 entries"),
        (lambda m: m.remove("memory", "  "), "old_text is empty"),
        (lambda m: m.add("memory", "   "), "empty"),
        (lambda m: m.add("memory", "a\n§\nb"), "cannot contain"),
    ],
)
async def test_bad_edits_are_refused_and_change_nothing(memory: MemoryFiles, action, expected: str) -> None:
    await memory.add("memory", "shared word one")
    await memory.add("memory", "shared word two")
    before = memory.path("memory").read_bytes()
    with pytest.raises(MemoryEditError, match=expected):
        await action(memory)
    assert memory.path("memory").read_bytes() == before


@pytest.mark.parametrize(("target", "limit"), [("memory", MEMORY_LIMIT), ("user", USER_LIMIT)])
async def test_a_write_past_the_limit_is_refused_with_the_room_left(
    memory: MemoryFiles, target, limit: int
) -> None:
    await memory.add(target, "x" * 1000)
    before = memory.path(target).read_text()
    room = limit - len(before)
    with pytest.raises(MemoryEditError) as refused:
        await memory.add(target, "y" * limit)
    assert f"{room} chars of room left" in str(refused.value)
    assert str(limit) in str(refused.value)
    assert memory.path(target).read_text() == before
    # Exactly filling the file is allowed: the limit counts the whole file, separators included.
    await memory.add(target, "z" * (room - len("\n§\n")))
    assert len(memory.path(target).read_text()) == limit


async def test_external_edits_are_seen_by_the_next_read_and_kept_by_our_next_write(
    memory: MemoryFiles,
) -> None:
    await memory.add("memory", "ours")
    external_write(memory.path("memory"), "theirs\n§\nours\n")
    assert (await memory.snapshot()).memory == ["theirs", "ours"]
    await memory.add("memory", "ours again")
    assert await memory.entries("memory") == ["theirs", "ours", "ours again"]


async def test_concurrent_writes_from_several_sessions_all_land(memory: MemoryFiles) -> None:
    await asyncio.gather(*(memory.add("memory", f"note {i}") for i in range(20)))
    assert sorted(await memory.entries("memory")) == sorted(f"note {i}" for i in range(20))


async def test_writes_leave_no_temp_files_and_a_failed_write_keeps_the_old_file(
    memory: MemoryFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    await memory.add("memory", "kept")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        await memory.add("memory", "lost")
    monkeypatch.undo()
    assert await memory.entries("memory") == ["kept"]
    assert sorted(p.name for p in memory.path("memory").parent.iterdir()) == ["MEMORY.md"]


def test_soul_over_its_limit_is_cut_for_the_prompt(memory: MemoryFiles) -> None:
    memory.soul_path.write_text("s" * (SOUL_LIMIT + 500))
    assert len(memory.read_snapshot().soul) == SOUL_LIMIT


def test_missing_files_read_as_empty(tmp_path: Path) -> None:
    snapshot = MemoryFiles(HermesPaths(tmp_path)).read_snapshot()
    assert (snapshot.soul, snapshot.memory, snapshot.user) == ("", [], [])


def test_a_runaway_memory_file_is_read_only_to_its_cap(memory: MemoryFiles) -> None:
    # The prompt reads these files on the event loop at every turn: a 4 MiB file must not be read whole.
    external_write(memory.path("memory"), "kept entry\n§\n" + "x" * (4 * 1024 * 1024))
    snapshot = memory.read_snapshot()
    assert snapshot.memory[0] == "kept entry"
    assert len(snapshot.memory[1]) < MAX_READ_BYTES


def aged(path: Path, seconds: float = 3600) -> None:
    """Make the file look last modified long ago (past the window in which it is always read)."""
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


def test_each_snapshot_sees_every_kind_of_edit_however_alike_the_versions(memory: MemoryFiles) -> None:
    path = memory.path("memory")
    path.write_text("alpha\n", encoding="utf-8")
    aged(path)
    assert memory.read_snapshot().memory == ["alpha"]
    mtime = path.stat().st_mtime_ns
    # Renamed over with the same size and the same modification time: another inode.
    external_write(path, "bravo\n")
    os.utime(path, ns=(mtime, mtime))
    assert memory.read_snapshot().memory == ["bravo"]
    aged(path)
    mtime = path.stat().st_mtime_ns
    # Rewritten in place, same size, its modification time put back: its change time moved.
    with path.open("r+", encoding="utf-8") as file:
        file.write("carol\n")
    os.utime(path, ns=(mtime, mtime))
    assert memory.read_snapshot().memory == ["carol"]
    # Just written, in place and alike in size: read again, not taken from the last look.
    path.write_text("delta\n", encoding="utf-8")
    assert memory.read_snapshot().memory == ["delta"]
    path.write_text("echo!\n", encoding="utf-8")
    assert memory.read_snapshot().memory == ["echo!"]
    path.unlink()
    assert memory.read_snapshot().memory == []
