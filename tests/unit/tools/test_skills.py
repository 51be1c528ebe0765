from pathlib import Path

import pytest

from hermes.agent.skills import SkillIndex
from hermes.agent.tools.base import ToolArgumentError, ToolContext
from hermes.agent.tools.skills import SkillManageTool, SkillsListTool, SkillViewTool

manage, view, listing = SkillManageTool(), SkillViewTool(), SkillsListTool()


def skill_md(name: str, description: str = "Deploy the web app.", body: str = "1. Build\n2. Ship\n") -> str:
    return f"---\nname: {name}\ndescription: {description}\n---\n\n{body}"


async def test_create_view_list_patch_edit_delete(ctx: ToolContext) -> None:
    assert (await listing({}, ctx)).content == "No skills yet. Create one with skill_manage."
    created = await manage(
        {"action": "create", "name": "deploy-app", "category": "ops", "content": skill_md("deploy-app")}, ctx
    )
    assert created.content == "Created skill ops/deploy-app."
    path = ctx.paths.skills / "ops" / "deploy-app" / "SKILL.md"
    assert path.read_text() == skill_md("deploy-app")
    assert (await listing({}, ctx)).content == "ops/deploy-app: Deploy the web app."
    assert (await view({"name": "deploy-app"}, ctx)).content == skill_md("deploy-app")

    await manage(
        {"action": "patch", "name": "deploy-app", "old_text": "2. Ship", "new_text": "2. Test\n3. Ship"}, ctx
    )
    assert path.read_text().endswith("1. Build\n2. Test\n3. Ship\n")
    await manage({"action": "edit", "name": "deploy-app", "content": skill_md("deploy-app", "Ship it.")}, ctx)
    assert [s.description for s in SkillIndex(ctx.paths.skills).scan()] == ["Ship it."]

    await manage(
        {"action": "write_file", "name": "deploy-app", "file_path": "refs/hosts.txt", "content": "web1\n"},
        ctx,
    )
    assert (await view({"name": "deploy-app"}, ctx)).content.endswith("[supporting files: refs/hosts.txt]")
    assert (await view({"name": "deploy-app", "file_path": "refs/hosts.txt"}, ctx)).content == "web1\n"
    await manage({"action": "remove_file", "name": "deploy-app", "file_path": "refs/hosts.txt"}, ctx)
    assert not (path.parent / "refs" / "hosts.txt").exists()

    deleted = await manage({"action": "delete", "name": "deploy-app"}, ctx)
    assert deleted.content == "Deleted skill ops/deploy-app." and not path.parent.exists()


async def test_create_defaults_to_the_general_category(ctx: ToolContext) -> None:
    await manage({"action": "create", "name": "tea", "content": skill_md("tea")}, ctx)
    assert (ctx.paths.skills / "general" / "tea" / "SKILL.md").exists()
    assert (
        await listing({"category": "ops"}, ctx)
    ).content == "No skills in category 'ops' yet. Create one with skill_manage."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"action": "create", "name": "Bad Name", "content": skill_md("Bad Name")}, "must be lower case"),
        ({"action": "create", "name": "-dash", "content": skill_md("-dash")}, "must be lower case"),
        ({"action": "create", "name": "x" * 65, "content": skill_md("x" * 65)}, "at most 64"),
        (
            {"action": "create", "name": "ok", "category": "../up", "content": skill_md("ok")},
            "category '../up'",
        ),
        (
            {"action": "create", "name": "ok", "content": "no front matter"},
            "must start with YAML front matter",
        ),
        ({"action": "create", "name": "ok", "content": skill_md("other")}, "name must be 'ok'"),
        ({"action": "create", "name": "ok", "content": "---\nname: ok\n---\nbody"}, "non-empty description"),
        ({"action": "create", "name": "ok", "content": skill_md("ok", "d" * 1025)}, "at most 1024"),
        ({"action": "create", "name": "ok"}, "missing required argument 'content'"),
        ({"action": "create", "name": "existing", "content": skill_md("existing")}, "already exists"),
        (
            {"action": "edit", "name": "missing", "content": skill_md("missing")},
            "there is no skill 'missing'",
        ),
        ({"action": "edit", "name": "existing", "content": "garbage"}, "front matter"),
        ({"action": "patch", "name": "existing", "old_text": "nowhere", "new_text": "x"}, "was not found"),
        (
            {"action": "patch", "name": "existing", "old_text": "name: existing", "new_text": "name: x"},
            "name must be",
        ),
        (
            {"action": "write_file", "name": "existing", "file_path": "../../escape.md", "content": "x"},
            "outside",
        ),
        (
            {"action": "write_file", "name": "existing", "file_path": "SKILL.md", "content": "x"},
            "supporting file",
        ),
        ({"action": "remove_file", "name": "existing", "file_path": "nothing.txt"}, "has no file"),
        ({"action": "fly", "name": "existing"}, "must be one of"),
    ],
)
async def test_refusals_leave_skills_unchanged(ctx: ToolContext, args: dict, message: str) -> None:
    await manage({"action": "create", "name": "existing", "content": skill_md("existing")}, ctx)
    before = sorted((p, p.read_bytes()) for p in ctx.paths.skills.rglob("*") if p.is_file())
    with pytest.raises(ToolArgumentError, match=message):
        await manage(args, ctx)
    assert sorted((p, p.read_bytes()) for p in ctx.paths.skills.rglob("*") if p.is_file()) == before


async def test_view_refusals(ctx: ToolContext) -> None:
    await manage({"action": "create", "name": "existing", "content": skill_md("existing")}, ctx)
    with pytest.raises(ToolArgumentError, match=r"no skill 'nope'.*skills: existing"):
        await view({"name": "nope"}, ctx)
    with pytest.raises(ToolArgumentError, match="outside"):
        await view({"name": "existing", "file_path": "../../../../etc/passwd"}, ctx)
    with pytest.raises(ToolArgumentError, match="not a file of skill"):
        await view({"name": "existing", "file_path": "missing.md"}, ctx)


async def test_a_symlinked_skill_directory_is_not_deleted_through(ctx: ToolContext, tmp_path: Path) -> None:
    elsewhere = tmp_path / "precious"
    elsewhere.mkdir()
    (elsewhere / "SKILL.md").write_text(skill_md("linked"))
    (ctx.paths.skills / "ops").mkdir(parents=True)
    (ctx.paths.skills / "ops" / "linked").symlink_to(elsewhere)
    with pytest.raises(ToolArgumentError, match="outside the skills directory"):
        await manage({"action": "delete", "name": "linked"}, ctx)
    assert (elsewhere / "SKILL.md").exists()
