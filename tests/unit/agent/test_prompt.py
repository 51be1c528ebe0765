import time
from pathlib import Path

from hermes.agent.memory import MemoryFiles
from hermes.agent.prompt import PromptBuilder, PromptInputs
from hermes.agent.skills import SkillIndex, parse_front_matter
from hermes.config.paths import HermesPaths

NOW = time.mktime((2025, 3, 14, 12, 0, 0, 0, 0, -1))


def write_skill(root: Path, category: str, name: str, text: str) -> Path:
    path = root / category / name / "SKILL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def builder(home: Path) -> PromptBuilder:
    paths = HermesPaths(home)
    memory = MemoryFiles(paths)
    memory.ensure_defaults()
    return PromptBuilder(memory, SkillIndex(paths.skills), clock=lambda: NOW)


async def test_stable_part_holds_identity_skills_and_platform_and_the_rest_changes(tmp_path: Path) -> None:
    paths = HermesPaths(tmp_path)
    prompt = builder(tmp_path)
    paths.soul_file.write_text("I am the test soul.")
    (paths.memories / "MEMORY.md").write_text("note one\n§\nnote two\n")
    (paths.memories / "USER.md").write_text("Name: Ada\n")
    write_skill(
        paths.skills, "dev", "git", "---\nname: git-helper\ndescription: Safe git workflows\n---\nBody"
    )
    inputs = PromptInputs(
        "matrix", "group", "Ada", "Answer in French.", ["memory", "todo"], platform_hint="On Matrix."
    )

    system = prompt.build(inputs)

    assert system.stable.startswith("I am the test soul.")
    assert "- dev/git-helper: Safe git workflows" in system.stable
    assert "On Matrix." in system.stable and "group chat" in system.stable
    assert "Answer in French." in system.stable
    assert "`memory` tool" in system.stable and "`todo` tool" in system.stable
    assert "session_search" not in system.stable
    assert "note one\n§\nnote two" in system.volatile and "Name: Ada" in system.volatile
    assert "Friday, 14 March 2025" in system.volatile
    assert "note one" not in system.stable and "2025" not in system.stable
    assert system.text.index("I am the test soul.") < system.text.index("note one")


async def test_files_are_read_again_for_every_prompt(tmp_path: Path) -> None:
    paths = HermesPaths(tmp_path)
    prompt = builder(tmp_path)
    inputs = PromptInputs("api", "api")
    first = prompt.build(inputs)
    assert "Memory" not in first.volatile
    (paths.memories / "MEMORY.md").write_text("fresh fact\n")
    write_skill(paths.skills, "ops", "deploy", "---\nname: deploy\ndescription: Ship it\n---\n")
    second = prompt.build(inputs)
    assert "fresh fact" in second.volatile
    assert "ops/deploy: Ship it" in second.stable
    (paths.skills / "ops" / "deploy" / "SKILL.md").unlink()
    assert "ops/deploy" not in (prompt.build(inputs)).stable


def test_skill_without_front_matter_uses_its_directory_name(tmp_path: Path) -> None:
    write_skill(tmp_path, "misc", "plain", "# Just markdown")
    write_skill(tmp_path, "misc", "broken", "---\nname: [unclosed\n---\n")
    (tmp_path / "misc" / "empty-dir").mkdir()
    skills = SkillIndex(tmp_path).scan()
    assert [(s.category, s.name, s.description) for s in skills] == [
        ("misc", "broken", ""),
        ("misc", "plain", ""),
    ]


def test_skill_edits_are_picked_up(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "a", "b", "---\nname: one\n---\n")
    index = SkillIndex(tmp_path)
    assert index.scan()[0].name == "one"
    path.write_text("---\nname: two\ndescription: changed and longer\n---\n")
    assert index.scan()[0].name == "two"


def test_front_matter_parsing() -> None:
    assert parse_front_matter("---\nname: x\n---\nbody") == {"name": "x"}
    assert parse_front_matter("no front matter") == {}
    assert parse_front_matter("---\nname: x\nnever closed") == {}
    assert parse_front_matter("---\n- a list\n---\n") == {}


async def test_missing_home_files_still_give_a_prompt(tmp_path: Path) -> None:
    paths = HermesPaths(tmp_path / "nothing-here")
    prompt = PromptBuilder(MemoryFiles(paths), SkillIndex(paths.skills), clock=lambda: NOW)
    system = prompt.build(PromptInputs("mattermost", "dm", "Bob", platform_hint="On Mattermost."))
    assert "On Mattermost." in system.stable and "Bob" in system.stable
