import os
from pathlib import Path

import pytest

from hermes.agent.tools.base import ToolArgumentError, ToolContext
from hermes.agent.tools.files import (
    MAX_FILE_BYTES,
    ListDirTool,
    PatchTool,
    ReadFileTool,
    SearchFilesTool,
    WriteFileTool,
    workspace_root,
)
from hermes.config.settings import Settings
from tests.unit.tools.conftest import make_context

read, write, patch, list_dir, search = (
    ReadFileTool(),
    WriteFileTool(),
    PatchTool(),
    ListDirTool(),
    SearchFilesTool(),
)


async def test_write_then_read_with_line_numbers(ctx: ToolContext, workspace: Path) -> None:
    written = await write({"path": "notes/todo.txt", "content": "alpha\nbeta\ngamma\n"}, ctx)
    assert written.ok and written.content == "Created notes/todo.txt (17 chars)."
    assert (workspace / "notes" / "todo.txt").read_text() == "alpha\nbeta\ngamma\n"
    result = await read({"path": "notes/todo.txt"}, ctx)
    assert result.content.splitlines() == [
        "notes/todo.txt (lines 1-3 of 3)",
        "     1|alpha",
        "     2|beta",
        "     3|gamma",
    ]
    page = await read({"path": "notes/todo.txt", "offset": 2, "limit": 1}, ctx)
    assert page.content.splitlines() == [
        "notes/todo.txt (lines 2-2 of 3); continue with offset=3",
        "     2|beta",
    ]
    again = await write({"path": "notes/todo.txt", "content": ""}, ctx)
    assert again.content.startswith("Overwrote")
    assert (await read({"path": "notes/todo.txt"}, ctx)).content == "notes/todo.txt is empty."


async def test_writes_are_atomic_and_keep_the_mode(ctx: ToolContext, workspace: Path) -> None:
    script = workspace / "run.sh"
    script.write_text("echo old\n")
    script.chmod(0o755)
    await write({"path": "run.sh", "content": "echo new\n"}, ctx)
    assert script.read_text() == "echo new\n"
    assert script.stat().st_mode & 0o777 == 0o755
    assert sorted(os.listdir(workspace)) == ["run.sh"]


@pytest.mark.parametrize(
    "path",
    ["../outside.txt", "a/../../outside.txt", "/etc/passwd", "~/x", "link-out/secret.txt", "bad\x00name"],
)
async def test_paths_that_leave_the_workspace_are_refused(
    ctx: ToolContext, workspace: Path, tmp_path: Path, path: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret")
    (workspace / "link-out").symlink_to(outside)
    for tool, args in (
        (read, {"path": path}),
        (write, {"path": path, "content": "x"}),
        (patch, {"path": path, "old_text": "top", "new_text": "no"}),
        (list_dir, {"path": path}),
        (search, {"pattern": "secret", "path": path}),
    ):
        with pytest.raises(ToolArgumentError, match=r"outside the workspace|NUL byte"):
            await tool(args, ctx)
    assert (outside / "secret.txt").read_text() == "top secret"
    assert not (tmp_path / "home" / "outside.txt").exists()


async def test_a_symlinked_file_pointing_out_is_refused(
    ctx: ToolContext, workspace: Path, tmp_path: Path
) -> None:
    (tmp_path / "passwords").write_text("hunter2")
    (workspace / "innocent.txt").symlink_to(tmp_path / "passwords")
    with pytest.raises(ToolArgumentError, match="outside the workspace"):
        await read({"path": "innocent.txt"}, ctx)
    found = await search({"pattern": "hunter"}, ctx)
    assert found.content == "Nothing matches 'hunter'."


async def test_an_absolute_path_inside_the_workspace_is_fine(ctx: ToolContext, workspace: Path) -> None:
    await write({"path": str(workspace / "abs.txt"), "content": "ok"}, ctx)
    assert (workspace / "abs.txt").read_text() == "ok"


async def test_read_refuses_missing_directories_binaries_and_huge_files(
    ctx: ToolContext, workspace: Path
) -> None:
    (workspace / "blob.bin").write_bytes(b"\x89PNG\x00\x00data")
    (workspace / "dir").mkdir()
    huge = workspace / "huge.log"
    with huge.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    cases = {"nope.txt": "does not exist", "dir": "is a directory", "blob.bin": "binary", "huge.log": "limit"}
    for path, message in cases.items():
        with pytest.raises(ToolArgumentError, match=message):
            await read({"path": path}, ctx)
    (workspace / "three.txt").write_text("1\n2\n3\n")
    with pytest.raises(ToolArgumentError, match="past the end"):
        await read({"path": "three.txt", "offset": 9}, ctx)
    with pytest.raises(ToolArgumentError, match="'limit' must be between"):
        await read({"path": "three.txt", "limit": 0}, ctx)
    with pytest.raises(ToolArgumentError, match="missing required argument 'path'"):
        await read({}, ctx)


async def test_long_reads_are_cut_with_a_way_to_continue(ctx: ToolContext, workspace: Path) -> None:
    (workspace / "big.txt").write_text("".join(f"{'x' * 99}\n" for _ in range(1000)))
    result = await read({"path": "big.txt"}, ctx)
    first = result.content.splitlines()[0]
    assert first.startswith("big.txt (lines 1-") and "continue with offset=" in first
    assert len(result.content) <= 41_000


async def test_write_refusals(ctx: ToolContext, workspace: Path) -> None:
    (workspace / "dir").mkdir()
    with pytest.raises(ToolArgumentError, match="is a directory"):
        await write({"path": "dir", "content": "x"}, ctx)
    with pytest.raises(ToolArgumentError, match="'content' must be a string"):
        await write({"path": "a.txt", "content": 5}, ctx)
    with pytest.raises(ToolArgumentError, match="over the"):
        await write({"path": "a.txt", "content": "x" * (5 * 1024 * 1024 + 1)}, ctx)
    assert not (workspace / "a.txt").exists()


async def test_patch_replaces_one_occurrence_or_all(ctx: ToolContext, workspace: Path) -> None:
    target = workspace / "app.py"
    target.write_text("x = 1\ny = 1\nprint(x)\n")
    result = await patch({"path": "app.py", "old_text": "x = 1", "new_text": "x = 2"}, ctx)
    assert result.ok and target.read_text() == "x = 2\ny = 1\nprint(x)\n"
    with pytest.raises(ToolArgumentError, match="occurs 2 times"):
        await patch({"path": "app.py", "old_text": " = ", "new_text": "="}, ctx)
    with pytest.raises(ToolArgumentError, match="was not found"):
        await patch({"path": "app.py", "old_text": "z = 3", "new_text": ""}, ctx)
    with pytest.raises(ToolArgumentError, match="'new_text' must be a string"):
        await patch({"path": "app.py", "old_text": "x"}, ctx)
    with pytest.raises(ToolArgumentError, match="'replace_all' must be true or false"):
        await patch({"path": "app.py", "old_text": "x", "new_text": "y", "replace_all": "yes"}, ctx)
    assert target.read_text() == "x = 2\ny = 1\nprint(x)\n"
    await patch({"path": "app.py", "old_text": " = ", "new_text": "=", "replace_all": True}, ctx)
    assert target.read_text() == "x=2\ny=1\nprint(x)\n"


async def test_list_dir(ctx: ToolContext, workspace: Path) -> None:
    assert (await list_dir({}, ctx)).content == ". is empty."
    (workspace / "src").mkdir()
    (workspace / "README.md").write_text("hello")
    result = await list_dir({"path": "."}, ctx)
    assert result.content.splitlines() == [".:", "  src/", "  README.md  (5 bytes)"]
    with pytest.raises(ToolArgumentError, match="is a file"):
        await list_dir({"path": "README.md"}, ctx)
    with pytest.raises(ToolArgumentError, match="does not exist"):
        await list_dir({"path": "nowhere"}, ctx)


async def test_search_content_and_names(ctx: ToolContext, workspace: Path) -> None:
    (workspace / "src").mkdir()
    (workspace / "src" / "a.py").write_text("import os\nTODO: fix\n")
    (workspace / "src" / "b.txt").write_text("TODO: later\n")
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text("TODO: never shown\n")
    found = await search({"pattern": "TODO"}, ctx)
    assert found.content.splitlines() == ["src/a.py:2: TODO: fix", "src/b.txt:1: TODO: later"]
    only_py = await search({"pattern": "TODO", "file_glob": "*.py"}, ctx)
    assert only_py.content == "src/a.py:2: TODO: fix"
    names = await search({"pattern": "*.txt", "target": "files"}, ctx)
    assert names.content == "src/b.txt"
    capped = await search({"pattern": "TODO", "max_results": 1}, ctx)
    assert capped.content.endswith("[more matches left out: narrow the search]")
    with pytest.raises(ToolArgumentError, match="not a regular expression this search accepts"):
        await search({"pattern": "(unclosed"}, ctx)
    with pytest.raises(ToolArgumentError, match="'target' must be one of"):
        await search({"pattern": "x", "target": "everything"}, ctx)
    with pytest.raises(ToolArgumentError, match="is not a directory"):
        await search({"pattern": "x", "path": "src/a.py"}, ctx)


def test_the_workspace_setting_is_relative_to_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert workspace_root(make_context(home)) == home / "workspace"
    relative = Settings.model_validate({"agent": {"workspace": "projects"}})
    assert workspace_root(make_context(home, relative)) == home / "projects"
    absolute = Settings.model_validate({"agent": {"workspace": str(tmp_path / "elsewhere")}})
    assert workspace_root(make_context(home, absolute)) == tmp_path / "elsewhere"


async def test_a_workspace_given_as_a_symlink_still_works(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "alias")
    ctx = make_context(
        tmp_path / "home", Settings.model_validate({"agent": {"workspace": str(tmp_path / "alias")}})
    )
    await write({"path": "f.txt", "content": "via alias"}, ctx)
    assert (real / "f.txt").read_text() == "via alias"
