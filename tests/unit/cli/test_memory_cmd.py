"""`hermes memory show|edit|clear`: the memory tool's limits, atomic saves, nothing typed is lost."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hermes.agent.memory import DEFAULT_SOUL, MEMORY_LIMIT, USER_LIMIT
from hermes.cli.app import app


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    (root / "memories").mkdir(parents=True)
    (root / "memories" / "MEMORY.md").write_text("likes tea\n§\nworks nights\n")
    (root / "memories" / "USER.md").write_text("Alice\n")
    (root / "SOUL.md").write_text("You are Hermes.\n")
    return root


def editor_writing(tmp_path: Path, text: str, *, also: tuple[Path, str] | None = None, code: int = 0) -> str:
    """An editor command that replaces the file it is given with `text` (and maybe changes another
    file meanwhile, as the running agent would), then exits with `code`."""
    source = tmp_path / "edited.txt"
    source.write_text(text)
    script = tmp_path / "editor.py"
    meanwhile = f"pathlib.Path({str(also[0])!r}).write_text({also[1]!r})" if also else "pass"
    script.write_text(
        "import pathlib, shutil, sys\n"
        f"shutil.copyfile({str(source)!r}, sys.argv[1])\n"
        f"{meanwhile}\n"
        f"sys.exit({code})\n"
    )
    return shlex.join([sys.executable, str(script)])


def run(home: Path, *args: str, editor: str | None = None) -> tuple[int, str]:
    env = {"HERMES_HOME": str(home), "COLUMNS": "300"}
    if editor is not None:
        env["EDITOR"] = editor
    result = CliRunner().invoke(app, ["memory", *args], env=env)
    return result.exit_code, result.output


def test_show_prints_every_file_with_its_size(home: Path) -> None:
    code, out = run(home, "show")
    assert code == 0
    assert f"== MEMORY.md: 25 of {MEMORY_LIMIT} chars" in out and "works nights" in out
    assert f"== USER.md: 6 of {USER_LIMIT} chars" in out
    assert "== SOUL.md: 15 of 3000 chars" in out
    code, out = run(home, "show", "user")
    assert code == 0 and "Alice" in out and "MEMORY.md" not in out


def test_an_unknown_file_is_refused(home: Path) -> None:
    code, out = run(home, "show", "NOTES.md")
    assert code == 2 and "accepts only MEMORY.md, USER.md and SOUL.md" in out


def test_edit_saves_the_text_as_the_memory_tool_writes_it(home: Path, tmp_path: Path) -> None:
    code, out = run(home, "edit", editor=editor_writing(tmp_path, "likes coffee  \n\n§\n works days\n\n"))
    assert code == 0, out
    assert (home / "memories" / "MEMORY.md").read_text() == "likes coffee\n§\nworks days\n"
    assert "Saved MEMORY.md: 26 of 2200 chars." in out
    assert sorted(p.name for p in (home / "memories").iterdir()) == ["MEMORY.md", "USER.md"]


def test_edit_without_changes_writes_nothing(home: Path, tmp_path: Path) -> None:
    before = (home / "SOUL.md").stat().st_mtime_ns
    code, out = run(home, "edit", "SOUL.md", editor=editor_writing(tmp_path, "You are Hermes.\n\n"))
    assert code == 0 and "No changes to SOUL.md." in out
    assert (home / "SOUL.md").stat().st_mtime_ns == before


def test_edit_over_the_limit_saves_nothing_and_keeps_the_text(home: Path, tmp_path: Path) -> None:
    too_long = "x" * (USER_LIMIT + 1)
    code, out = run(home, "edit", "USER.md", editor=editor_writing(tmp_path, too_long))
    assert code == 1
    assert f"USER.md would hold {USER_LIMIT + 2} chars, over its {USER_LIMIT}-char limit" in out
    assert (home / "memories" / "USER.md").read_text() == "Alice\n"
    kept = Path(out.split("Your text is kept in ")[1].strip().rstrip("."))
    assert kept.read_text() == too_long
    # In the home, not in /tmp: it outlives a reboot, and a test's home takes it away with it.
    assert kept.is_relative_to(home / "drafts")


def test_edit_refuses_to_overwrite_a_change_made_meanwhile(home: Path, tmp_path: Path) -> None:
    memory = home / "memories" / "MEMORY.md"
    editor = editor_writing(tmp_path, "mine\n", also=(memory, "the agent's new memory\n"))
    code, out = run(home, "edit", editor=editor)
    assert code == 1 and "MEMORY.md changed while you were editing" in out
    assert memory.read_text() == "the agent's new memory\n"
    assert "Your text is kept in" in out


def test_a_failing_or_missing_editor_changes_nothing(home: Path, tmp_path: Path) -> None:
    code, out = run(home, "edit", editor=editor_writing(tmp_path, "changed\n", code=3))
    assert code == 1 and "the editor exited with status 3" in out
    code, out = run(home, "edit", editor="/nonexistent/editor")
    assert code == 1 and "cannot start the editor" in out
    assert (home / "memories" / "MEMORY.md").read_text() == "likes tea\n§\nworks nights\n"


def test_clear_needs_confirmation_without_a_terminal(home: Path) -> None:
    code, out = run(home, "clear")
    assert code == 1 and "add --yes" in out
    assert (home / "memories" / "USER.md").read_text() == "Alice\n"


def test_clear_empties_the_memories_and_resets_the_soul(home: Path) -> None:
    code, out = run(home, "clear", "--yes")
    assert code == 0, out
    assert (home / "memories" / "MEMORY.md").read_text() == ""
    assert (home / "memories" / "USER.md").read_text() == ""
    assert (home / "SOUL.md").read_text() == "You are Hermes.\n"
    code, out = run(home, "clear", "soul", "--yes")
    assert code == 0 and "Reset SOUL.md to the default identity." in out
    assert (home / "SOUL.md").read_text() == DEFAULT_SOUL
