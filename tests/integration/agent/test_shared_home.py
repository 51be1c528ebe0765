"""SOUL.md, memory and skills shared by two replicas (two agents, two homes, one real PostgreSQL): an edit on
one is in the other's next prompt, as the fake LLM recorded it; bad files are refused and lose nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hermes.agent.contract import ToolFinished
from hermes.agent.home_mirror import REPLACED_DIRECTORY, STATE_FILE
from hermes.agent.memory import MEMORY_LIMIT, MemoryFiles
from hermes.agent.shared_home import SharedHome
from hermes.cli.app import app
from tests.fakes.llm import Call, Text, ToolCalls
from tests.harness.postgres_server import PostgresServer
from tests.integration.agent.conftest import MakeRig, Rig, tool_results

SKILL = "---\nname: {name}\ndescription: {description}\n---\n\n# Steps\n1. Do it.\n"


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture
async def pair(pg_url: str, make_rig: MakeRig) -> tuple[Rig, Rig]:
    """Replica A, which seeds the database, then replica B."""
    one = await make_rig(database=pg_url)
    await one.agent.start()
    two = await make_rig(database=pg_url)
    await two.agent.start()
    return one, two


def shared(rig: Rig) -> SharedHome:
    assert rig.agent.shared is not None
    return rig.agent.shared


def replace_file(path: Path, data: str | bytes) -> None:
    """As an editor or another tool does it: a temp file renamed over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.editor")
    temp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(temp, path)


async def system_of_next_turn(rig: Rig, text: str = "hello") -> str:
    await rig.run(text)
    return rig.llm.chat_requests[-1].system


async def test_a_memory_saved_on_one_replica_is_in_the_next_prompt_of_the_other(
    pair: tuple[Rig, Rig],
) -> None:
    one, two = pair
    assert "Server is hermes-01" not in await system_of_next_turn(two)
    note = {"action": "add", "target": "memory", "content": "Server is hermes-01"}
    one.llm.script(ToolCalls([Call("memory", note)]), Text("Noted."))
    await one.run("note the server name")
    system = await system_of_next_turn(two)
    assert "## Memory" in system and "Server is hermes-01" in system
    # B's file is the shared version too, for the tools and people reading it there.
    assert (two.config.paths.memories / "MEMORY.md").read_text() == "Server is hermes-01\n"


async def test_memory_saved_on_both_replicas_at_once_keeps_both_entries(pair: tuple[Rig, Rig]) -> None:
    one, two = pair
    first = MemoryFiles(one.config.paths, shared=shared(one))
    second = MemoryFiles(two.config.paths, shared=shared(two))
    await asyncio.gather(
        *(first.add("user", f"fact one-{i}") for i in range(5)),
        *(second.add("user", f"fact two-{i}") for i in range(5)),
    )
    expected = {f"fact {who}-{i}" for who in ("one", "two") for i in range(5)}
    for rig in pair:
        system = await system_of_next_turn(rig)
        assert all(fact in system for fact in expected)
        assert set(await MemoryFiles(rig.config.paths).entries("user")) == expected


async def test_a_person_s_own_memory_is_shared_and_stays_theirs(pair: tuple[Rig, Rig]) -> None:
    one, two = pair
    await one.agent.memory.scoped("matrix:@ada:example.org").add("user", "Ada prefers metric units")
    await two.run("hello", memory_scope="matrix:@ada:example.org")
    assert "Ada prefers metric units" in two.llm.chat_requests[-1].system
    assert "Ada prefers metric units" not in await system_of_next_turn(two)


async def test_soul_edited_in_one_home_is_seen_by_the_other(pair: tuple[Rig, Rig]) -> None:
    one, two = pair
    replace_file(one.config.paths.soul_file, "You are Marvin, a gloomy robot.\n")
    # The edit is stored by A's next look at its home (every 2 s, or after a turn that ran a tool).
    await shared(one).sync()
    assert (await system_of_next_turn(two)).startswith("You are Marvin, a gloomy robot.")
    assert two.config.paths.soul_file.read_text() == "You are Marvin, a gloomy robot.\n"


async def test_hermes_memory_on_one_host_reaches_the_other(pair: tuple[Rig, Rig]) -> None:
    one, two = pair
    await one.agent.memory.add("user", "Works nights")
    assert "Works nights" in await system_of_next_turn(two)
    result = CliRunner().invoke(
        app, ["memory", "clear", "USER.md", "--yes"], env={"HERMES_HOME": str(one.home)}
    )
    assert result.exit_code == 0, result.output
    await shared(one).sync()
    assert "Works nights" not in await system_of_next_turn(two)
    assert (two.config.paths.memories / "USER.md").read_text() == ""


async def test_a_replica_polls_its_home_for_edits_without_being_asked(pair: tuple[Rig, Rig]) -> None:
    one, two = pair
    before = await one.store.documents.latest_revision()
    replace_file(one.config.paths.memories / "USER.md", "Lives in Lisbon\n")
    async with asyncio.timeout(10):
        while await one.store.documents.latest_revision() == before:
            await asyncio.sleep(0.1)
    assert "Lives in Lisbon" in await system_of_next_turn(two)


async def test_a_skill_created_on_one_replica_is_listed_on_the_other(pair: tuple[Rig, Rig]) -> None:
    one, two = pair
    content = SKILL.format(name="deploy-site", description="How to deploy the web site.")
    create = {"action": "create", "name": "deploy-site", "category": "ops", "content": content}
    one.llm.script(ToolCalls([Call("skill_manage", create)]), Text("Created."))
    events = await one.run("make a skill for deploying")
    assert [e.ok for e in events if isinstance(e, ToolFinished)] == [True]
    # A tool ran, so A looks at its home at once; the skill is stored within moments.
    async with asyncio.timeout(10):
        while "ops/deploy-site" not in await system_of_next_turn(two):
            await asyncio.sleep(0.1)
    assert (two.config.paths.skills / "ops" / "deploy-site" / "SKILL.md").read_text() == content


async def test_a_skill_deleted_on_one_replica_is_gone_from_the_other(pair: tuple[Rig, Rig]) -> None:
    one, two = pair
    skill = one.config.paths.skills / "ops" / "old-skill"
    replace_file(skill / "SKILL.md", SKILL.format(name="old-skill", description="Obsolete."))
    replace_file(skill / "notes.txt", "supporting file\n")
    await shared(one).sync()
    assert "ops/old-skill" in await system_of_next_turn(two)
    assert (two.config.paths.skills / "ops" / "old-skill" / "notes.txt").read_text() == "supporting file\n"
    one.llm.script(
        ToolCalls([Call("skill_manage", {"action": "delete", "name": "old-skill"})]), Text("Gone.")
    )
    await one.run("delete the old skill")
    await shared(one).sync()
    assert "old-skill" not in await system_of_next_turn(two)
    assert not (two.config.paths.skills / "ops").exists()


async def test_an_oversized_memory_entry_is_refused_and_nothing_stored_is_lost(pair: tuple[Rig, Rig]) -> None:
    one, two = pair
    await one.agent.memory.add("memory", "Keep this note")
    one.llm.script(
        ToolCalls([Call("memory", {"action": "add", "target": "memory", "content": "x" * MEMORY_LIMIT})]),
        Text("Too long."),
    )
    events = await one.run("remember a lot")
    assert [e.ok for e in events if isinstance(e, ToolFinished)] == [False]
    (result,) = tool_results(one.llm.chat_requests[-1])
    assert f"over its {MEMORY_LIMIT}-char limit" in result
    assert "Keep this note" in await system_of_next_turn(two)
    for rig in pair:
        assert await MemoryFiles(rig.config.paths).entries("memory") == ["Keep this note"]


async def test_a_file_over_its_limit_is_refused_moved_aside_and_the_shared_version_put_back(
    pair: tuple[Rig, Rig], caplog: pytest.LogCaptureFixture
) -> None:
    one, two = pair
    await one.agent.memory.add("memory", "Keep this note")
    memory_file = one.config.paths.memories / "MEMORY.md"
    replace_file(memory_file, "y" * (MEMORY_LIMIT + 1))
    with caplog.at_level(logging.ERROR, "hermes.agent"):
        await shared(one).sync()
    assert f"over its {MEMORY_LIMIT}-char limit" in caplog.text and "moved to" in caplog.text
    assert memory_file.read_text() == "Keep this note\n"
    (aside,) = (one.home / REPLACED_DIRECTORY / "memories").iterdir()
    assert aside.read_text() == "y" * (MEMORY_LIMIT + 1)
    assert "Keep this note" in await system_of_next_turn(two)


async def test_a_soul_that_is_not_utf8_is_refused_and_the_other_replica_keeps_the_shared_one(
    pair: tuple[Rig, Rig], caplog: pytest.LogCaptureFixture
) -> None:
    one, two = pair
    replace_file(one.config.paths.soul_file, "You are Ada.\n")
    await shared(one).sync()
    replace_file(one.config.paths.soul_file, b"You are \xff\xfe broken.\n")
    with caplog.at_level(logging.ERROR, "hermes.agent"):
        await shared(one).sync()
    assert "not UTF-8 text (byte 0xff at offset 8)" in caplog.text
    assert one.config.paths.soul_file.read_text() == "You are Ada.\n"
    (aside,) = (one.home / REPLACED_DIRECTORY).glob("SOUL.md.*")
    assert aside.read_bytes() == b"You are \xff\xfe broken.\n"
    assert (await system_of_next_turn(two)).startswith("You are Ada.")


async def test_a_skill_with_broken_front_matter_is_not_shared_and_the_good_version_is_kept(
    pair: tuple[Rig, Rig], caplog: pytest.LogCaptureFixture
) -> None:
    one, two = pair
    good = SKILL.format(name="backup", description="Nightly backups.")
    skill_file = one.config.paths.skills / "ops" / "backup" / "SKILL.md"
    replace_file(skill_file, good)
    await shared(one).sync()
    broken = "---\nname: backup\ndescription: [unclosed\n---\nbody\n"
    replace_file(skill_file, broken)
    # A new skill with broken front matter has no shared version to fall back on: it stays, here only.
    new_skill = one.config.paths.skills / "ops" / "draft" / "SKILL.md"
    replace_file(new_skill, "---\nname: draft\n")
    with caplog.at_level(logging.ERROR, "hermes.agent"):
        await shared(one).sync()
        await shared(one).sync()
    assert caplog.text.count("front matter is not readable") == 2
    assert skill_file.read_text() == good
    assert new_skill.read_text() == "---\nname: draft\n"
    system = await system_of_next_turn(two)
    assert "ops/backup: Nightly backups." in system and "draft" not in system
    assert (two.config.paths.skills / "ops" / "backup" / "SKILL.md").read_text() == good


async def test_the_first_replica_seeds_the_database_and_a_new_one_takes_its_versions(
    pg_url: str, make_rig: MakeRig
) -> None:
    one = await make_rig(database=pg_url)
    replace_file(one.config.paths.soul_file, "You are the first replica's soul.\n")
    replace_file(one.config.paths.memories / "USER.md", "Seeded fact\n")
    await one.agent.start()
    two = await make_rig(database=pg_url)
    replace_file(two.config.paths.soul_file, "A different soul on the second host.\n")
    replace_file(
        two.config.paths.skills / "misc" / "only-here" / "SKILL.md",
        SKILL.format(name="only-here", description="Local."),
    )
    await two.agent.start()
    assert two.config.paths.soul_file.read_text() == "You are the first replica's soul.\n"
    (aside,) = (two.home / REPLACED_DIRECTORY).glob("SOUL.md.*")
    assert aside.read_text() == "A different soul on the second host.\n"
    system = await system_of_next_turn(two)
    assert system.startswith("You are the first replica's soul.") and "Seeded fact" in system
    # What the database lacked, the new replica contributed.
    assert "misc/only-here" in await system_of_next_turn(one)


async def test_an_edit_made_while_a_replica_was_down_is_stored_when_it_starts(
    pg_url: str, make_rig: MakeRig
) -> None:
    one = await make_rig(database=pg_url)
    await one.agent.start()
    two = await make_rig(database=pg_url)
    await two.agent.start()
    await one.agent.close()
    assert json.loads((one.home / STATE_FILE).read_text())["files"]
    replace_file(one.config.paths.memories / "MEMORY.md", "Edited while down\n")
    again = SharedHome(one.home, one.store.documents)
    await again.start()
    try:
        assert "Edited while down" in await system_of_next_turn(two)
    finally:
        await again.close()


async def test_sqlite_keeps_the_files_alone(make_rig: MakeRig) -> None:
    rig = await make_rig()
    assert rig.agent.shared is None
    await rig.run("hello")
    assert not (rig.home / STATE_FILE).exists()


async def test_a_path_outside_the_shared_files_is_never_written(
    pair: tuple[Rig, Rig], caplog: pytest.LogCaptureFixture
) -> None:
    one, two = pair
    for path in ("../escaped.md", "config.yaml", "skills/.hidden/SKILL.md", "memories//MEMORY.md"):
        await one.store.documents.put(path, "not for a replica's home", "elsewhere")
    await one.store.documents.put("skills/ops/fine/notes.md", "shared", "elsewhere")
    with caplog.at_level(logging.WARNING, "hermes.agent"):
        await two.run("hello")
    assert caplog.text.count("not a shared file's path") == 4
    assert not (two.home.parent / "escaped.md").exists()
    assert "not for" not in (two.home / "config.yaml").read_text()
    assert not (two.home / "skills" / ".hidden").exists()
    assert (two.home / "skills" / "ops" / "fine" / "notes.md").read_text() == "shared"


async def test_the_same_file_edited_on_both_hosts_the_last_stored_wins_and_the_other_is_kept(
    pair: tuple[Rig, Rig],
) -> None:
    one, two = pair
    replace_file(one.config.paths.soul_file, "You are the soul from host one.\n")
    await shared(one).sync()
    # Host two's edit was made before it mirrored host one's (or after: the outcome is the same).
    replace_file(two.config.paths.soul_file, "You are the soul from host two.\n")
    await shared(two).sync()
    for rig in pair:
        assert (await system_of_next_turn(rig)).startswith("You are the soul from host two.")
        assert rig.config.paths.soul_file.read_text() == "You are the soul from host two.\n"
    latest, earlier, *_ = await one.store.documents.history("SOUL.md")
    assert latest.content == "You are the soul from host two.\n"
    assert earlier.content == "You are the soul from host one.\n"


async def test_a_shared_directory_gone_from_a_home_is_put_back_not_deleted_everywhere(
    pair: tuple[Rig, Rig], caplog: pytest.LogCaptureFixture
) -> None:
    one, two = pair
    await one.agent.memory.add("memory", "Keep this note")
    replace_file(one.config.paths.skills / "ops" / "backup" / "SKILL.md", "# Backups\n")
    await shared(one).sync()
    await two.run("hello")
    shutil.rmtree(two.config.paths.skills)
    shutil.rmtree(two.config.paths.memories)
    with caplog.at_level(logging.WARNING, "hermes.agent"):
        await shared(two).sync()
    assert "memories/ and skills/ missing from" in caplog.text
    assert (two.config.paths.memories / "MEMORY.md").read_text() == "Keep this note\n"
    assert (two.config.paths.skills / "ops" / "backup" / "SKILL.md").read_text() == "# Backups\n"
    system = await system_of_next_turn(one)
    assert "Keep this note" in system and "ops/backup" in system


async def test_a_home_that_synced_with_another_database_starts_over(
    pg_url: str, postgres: PostgresServer, make_rig: MakeRig
) -> None:
    one = await make_rig(database=pg_url)
    await one.agent.start()
    await one.agent.memory.add("memory", "From the first database")
    await one.agent.close()
    # Another database, as one dropped and created again under the same URL would be.
    fresh = postgres.create_database()
    other = await make_rig(database=fresh)
    await other.agent.start()
    await other.agent.memory.add("memory", "From the new database")
    again = SharedHome(one.home, other.store.documents)
    try:
        await again.start()
        assert (one.config.paths.memories / "MEMORY.md").read_text() == "From the new database\n"
        (aside,) = (one.home / REPLACED_DIRECTORY / "memories").glob("MEMORY.md.*")
        assert aside.read_text() == "From the first database\n"
    finally:
        await again.close()
        await other.agent.close()
        await other.store.close()
        postgres.drop_database(fresh)
