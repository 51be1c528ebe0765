"""`hermes skills list`: the skills the agent can load (`HERMES_HOME/skills/<category>/<name>/SKILL.md`)."""

from __future__ import annotations

import typer

from hermes.cli.common import load_or_exit

app = typer.Typer(help="The agent's skills.", no_args_is_help=True)


@app.command("list")
def list_skills() -> None:
    """Every skill: category, name and description (from each SKILL.md's front matter)."""
    from rich.console import Console
    from rich.table import Table

    from hermes.agent.skills import SkillIndex

    root = load_or_exit().paths.skills
    skills = SkillIndex(root).scan()
    if not skills:
        typer.echo(f"No skills in {root} (each lives in <category>/<name>/SKILL.md).")
        return
    table = Table("category", "name", "description")
    for skill in sorted(skills, key=lambda s: (s.category, s.name)):
        table.add_row(skill.category, skill.name, skill.description or "(no description)")
    Console(width=200).print(table)
