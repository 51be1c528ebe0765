"""`hermes skills list`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hermes.cli.app import app


def run(home: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["skills", "list"], env={"HERMES_HOME": str(home), "COLUMNS": "300"})
    return result.exit_code, result.output


def test_skills_are_listed_by_category(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = home / "skills" / "writing" / "haiku"
    first.mkdir(parents=True)
    (first / "SKILL.md").write_text("---\nname: haiku\ndescription: Writes a haiku\n---\nBody\n")
    second = home / "skills" / "ops" / "restart"
    second.mkdir(parents=True)
    (second / "SKILL.md").write_text("no front matter\n")
    code, out = run(home)
    assert code == 0, out
    lines = [line for line in out.splitlines() if "haiku" in line or "restart" in line]
    assert "ops" in lines[0] and "restart" in lines[0] and "(no description)" in lines[0]
    assert "writing" in lines[1] and "Writes a haiku" in lines[1]


def test_no_skills(tmp_path: Path) -> None:
    code, out = run(tmp_path / "home")
    assert code == 0 and "No skills in" in out
