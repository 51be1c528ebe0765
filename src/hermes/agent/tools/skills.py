"""Skill tools (`skills_list`, `skill_view`, `skill_manage`): the agent reads its skills and writes new ones.

A skill is `HERMES_HOME/skills/<category>/<name>/SKILL.md` with YAML front matter (`name`, `description`)
and instructions below it, plus optional supporting files beside it. Writing skills is how the agent
improves itself: the skills index in the system prompt is rescanned every turn, so a new skill shows up in
the next one. Every write is atomic and stays inside the skill's own directory.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any, ClassVar

from hermes.agent.skills import Skill, SkillIndex, parse_front_matter
from hermes.agent.tools.base import (
    ToolArgumentError,
    ToolContext,
    ToolResult,
    register_tool,
    string_arg,
)
from hermes.agent.tools.files import resolve_in
from hermes.fileio import write_atomic

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 1024
MAX_SKILL_CHARS = 100_000
SKILL_FILE = "SKILL.md"
DEFAULT_CATEGORY = "general"
ACTIONS = ("create", "edit", "patch", "delete", "write_file", "remove_file")
_TEMPLATE = "---\nname: my-skill\ndescription: One line on when to use this skill.\n---\n\n# Steps\n..."


def check_name(value: str, what: str = "name") -> str:
    if len(value) > MAX_NAME_CHARS or not NAME_PATTERN.match(value):
        raise ToolArgumentError(
            f"{what} {value!r} must be lower case letters, digits, '-' and '_', starting with a letter or "
            f"digit, at most {MAX_NAME_CHARS} chars"
        )
    return value


def check_skill_text(text: str, name: str) -> None:
    """SKILL.md must open with front matter naming this skill and describing it."""
    if len(text) > MAX_SKILL_CHARS:
        raise ToolArgumentError(f"SKILL.md is {len(text)} chars; at most {MAX_SKILL_CHARS}")
    meta = parse_front_matter(text)
    if not meta:
        raise ToolArgumentError(
            "SKILL.md must start with YAML front matter between '---' lines holding name and description, "
            f"like:\n{_TEMPLATE}"
        )
    if meta.get("name") != name:
        raise ToolArgumentError(f"the front matter's name must be {name!r}, got {meta.get('name')!r}")
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ToolArgumentError("the front matter needs a non-empty description (one line on when to use it)")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise ToolArgumentError(
            f"the description is {len(description)} chars; at most {MAX_DESCRIPTION_CHARS}"
        )


def _find(index: SkillIndex, name: str) -> Skill | None:
    return next((s for s in index.scan() if s.name == name or s.path.parent.name == name), None)


def _require(index: SkillIndex, name: str) -> Skill:
    skill = _find(index, name)
    if skill is None:
        known = ", ".join(sorted(s.name for s in index.scan())) or "none yet"
        raise ToolArgumentError(f"there is no skill {name!r} (skills: {known})")
    return skill


class SkillsListTool:
    name = "skills_list"
    description = "List your skills (category/name: description). Read one with skill_view."
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"category": {"type": "string", "description": "Only this category."}},
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        category = string_arg(args, "category", required=False)
        skills = await asyncio.to_thread(SkillIndex(ctx.paths.skills).scan)
        if category:
            skills = [s for s in skills if s.category == category]
        if not skills:
            where = f" in category {category!r}" if category else ""
            return ToolResult(f"No skills{where} yet. Create one with skill_manage.", summary="no skills")
        lines = [f"{s.category}/{s.name}: {s.description or '(no description)'}" for s in skills]
        return ToolResult("\n".join(lines), summary=f"{len(skills)} skill(s)")


class SkillViewTool:
    name = "skill_view"
    description = (
        "Read a skill's SKILL.md (its instructions), or one of its supporting files with file_path "
        "(relative to the skill's directory). Read a skill before doing the task it covers."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "The skill's name."},
            "file_path": {"type": "string", "description": "A supporting file inside the skill."},
        },
        "required": ["name"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        name = string_arg(args, "name")
        file_path = string_arg(args, "file_path", required=False)

        def view() -> ToolResult:
            skill = _require(SkillIndex(ctx.paths.skills), name)
            directory = skill.path.parent
            target = resolve_in(directory, file_path, what="file_path") if file_path else skill.path
            if not target.is_file():
                files = sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
                raise ToolArgumentError(f"{file_path!r} is not a file of skill {name!r} (files: {files})")
            text = target.read_text(encoding="utf-8", errors="replace")
            if len(text) > MAX_SKILL_CHARS:
                text = text[:MAX_SKILL_CHARS] + "\n[cut]"
            extra = sorted(
                str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file() and p != skill.path
            )
            if not file_path and extra:
                text += "\n\n[supporting files: " + ", ".join(extra) + "]"
            return ToolResult(text, summary=f"read skill {name}")

        return await asyncio.to_thread(view)


class SkillManageTool:
    name = "skill_manage"
    description = (
        "Create and improve your skills: reusable instructions for tasks you will meet again. When you "
        "worked out how to do something non-obvious, or a skill proved wrong, record it. Actions: create "
        "(name, content, optional category), edit (name, content: the whole new SKILL.md), patch (name, "
        "old_text, new_text), delete (name), write_file / remove_file (name, file_path[, content]) for "
        "supporting files. content is the full SKILL.md: front matter with name and description between "
        "'---' lines, then the instructions."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": list(ACTIONS)},
            "name": {"type": "string", "description": "The skill's name: lower case, digits, - and _."},
            "category": {"type": "string", "description": f"For create (default {DEFAULT_CATEGORY!r})."},
            "content": {"type": "string", "description": "SKILL.md (create, edit) or the file's text."},
            "old_text": {"type": "string", "description": "For patch: the exact text to replace."},
            "new_text": {"type": "string", "description": "For patch: the replacement."},
            "file_path": {"type": "string", "description": "For write_file/remove_file, inside the skill."},
        },
        "required": ["action", "name"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        action = string_arg(args, "action", choices=ACTIONS)
        name = check_name(string_arg(args, "name"))
        handler = getattr(self, f"_{action}")
        return await asyncio.to_thread(handler, SkillIndex(ctx.paths.skills), ctx.paths.skills, name, args)

    def _create(self, index: SkillIndex, root: Path, name: str, args: dict[str, Any]) -> ToolResult:
        category = check_name(string_arg(args, "category", required=False) or DEFAULT_CATEGORY, "category")
        content = string_arg(args, "content")
        check_skill_text(content, name)
        existing = _find(index, name)
        if existing is not None:
            raise ToolArgumentError(
                f"skill {name!r} already exists ({existing.category}/{name}); use edit or patch to improve it"
            )
        path = root / category / name / SKILL_FILE
        write_atomic(path, content)
        return ToolResult(f"Created skill {category}/{name}.", summary=f"created skill {name}")

    def _edit(self, index: SkillIndex, root: Path, name: str, args: dict[str, Any]) -> ToolResult:
        skill = _require(index, name)
        content = string_arg(args, "content")
        check_skill_text(content, name)
        write_atomic(skill.path, content)
        return ToolResult(f"Rewrote skill {skill.category}/{name}.", summary=f"edited skill {name}")

    def _patch(self, index: SkillIndex, root: Path, name: str, args: dict[str, Any]) -> ToolResult:
        skill = _require(index, name)
        old = string_arg(args, "old_text")
        new = args.get("new_text")
        if not isinstance(new, str):
            raise ToolArgumentError("argument 'new_text' must be a string")
        text = skill.path.read_text(encoding="utf-8")
        count = text.count(old)
        if count != 1:
            problem = "was not found" if count == 0 else f"occurs {count} times; include more context"
            raise ToolArgumentError(f"old_text {problem} in {name}'s SKILL.md")
        patched = text.replace(old, new)
        check_skill_text(patched, name)
        write_atomic(skill.path, patched)
        return ToolResult(f"Patched skill {skill.category}/{name}.", summary=f"patched skill {name}")

    def _delete(self, index: SkillIndex, root: Path, name: str, args: dict[str, Any]) -> ToolResult:
        skill = _require(index, name)
        directory = skill.path.parent
        if directory.is_symlink() or not directory.resolve().is_relative_to(root.resolve()):
            raise ToolArgumentError(f"skill {name!r} lives outside the skills directory; delete it by hand")
        shutil.rmtree(directory)
        return ToolResult(f"Deleted skill {skill.category}/{name}.", summary=f"deleted skill {name}")

    def _write_file(self, index: SkillIndex, root: Path, name: str, args: dict[str, Any]) -> ToolResult:
        _, target, shown = self._supporting(index, name, args)
        content = args.get("content")
        if not isinstance(content, str):
            raise ToolArgumentError("argument 'content' must be a string")
        if len(content) > MAX_SKILL_CHARS:
            raise ToolArgumentError(f"content is {len(content)} chars; at most {MAX_SKILL_CHARS}")
        write_atomic(target, content)
        return ToolResult(f"Wrote {shown} in skill {name}.", summary=f"wrote {shown}")

    def _remove_file(self, index: SkillIndex, root: Path, name: str, args: dict[str, Any]) -> ToolResult:
        _, target, shown = self._supporting(index, name, args)
        if not target.is_file():
            raise ToolArgumentError(f"skill {name!r} has no file {shown!r}")
        target.unlink()
        return ToolResult(f"Removed {shown} from skill {name}.", summary=f"removed {shown}")

    def _supporting(self, index: SkillIndex, name: str, args: dict[str, Any]) -> tuple[Skill, Path, str]:
        skill = _require(index, name)
        directory = skill.path.parent
        target = resolve_in(directory, string_arg(args, "file_path"), what="file_path")
        if target == skill.path.resolve() or target == directory.resolve():
            raise ToolArgumentError(
                "file_path must name a supporting file; change SKILL.md with edit or patch"
            )
        return skill, target, str(target.relative_to(directory.resolve()))


for _tool in (SkillsListTool(), SkillViewTool(), SkillManageTool()):
    register_tool(_tool)
