"""`hermes memory show|edit|clear [MEMORY.md|USER.md|SOUL.md]`: the agent's memory files from the shell.

`edit` opens a copy in `$VISUAL`/`$EDITOR` and saves it only if it fits the file's limit (the same limits
the agent's memory tool keeps), atomically, and only if nobody changed the file meanwhile (the agent saves
memories while it runs). When the text cannot be saved it is kept, and its path printed: nothing typed is
lost.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hermes.agent.memory_files import MemoryFile, memory_files
from hermes.cli.common import EXIT_FAILURE, load_or_exit

if TYPE_CHECKING:
    pass

app = typer.Typer(
    help="Show, edit or clear the agent's memory (MEMORY.md, USER.md, SOUL.md).", no_args_is_help=True
)

_ONLY = "hermes memory accepts only MEMORY.md, USER.md and SOUL.md"


def _pick(files: dict[str, MemoryFile], name: str) -> MemoryFile:
    wanted = name.strip().upper()
    wanted = wanted if wanted.endswith(".MD") else f"{wanted}.MD"
    for file_name, file in files.items():
        if file_name.upper() == wanted:
            return file
    raise typer.BadParameter(f"{name!r}: {_ONLY}", param_hint="FILE")


_FILE = typer.Argument(None, help="MEMORY.md, USER.md or SOUL.md.", show_default=False)


@app.command("show")
def show(name: str | None = _FILE) -> None:
    """Print a memory file (all three without FILE), with its size against its limit."""
    files = memory_files(load_or_exit().paths)
    chosen = [_pick(files, name)] if name else list(files.values())
    for index, file in enumerate(chosen):
        text = file.read()
        if index:
            typer.echo()
        typer.echo(f"== {file.name}: {file.size(text)} of {file.limit} chars — {file.path}")
        typer.echo(text.rstrip("\n") if text.strip() else "(empty)")


@app.command("edit")
def edit(
    name: str = typer.Argument("MEMORY.md", help="MEMORY.md, USER.md or SOUL.md."),
    editor: str | None = typer.Option(
        None, "--editor", help="The editor command (default: $VISUAL, $EDITOR, vi)."
    ),
) -> None:
    """Edit a memory file in your editor; saved only if it fits the file's size limit."""
    config = load_or_exit()
    file = _pick(memory_files(config.paths), name)
    command = editor or config.environ.get("VISUAL") or config.environ.get("EDITOR") or "vi"
    original = file.read()
    # A draft that cannot be saved is kept for the user: in the home, which outlives /tmp and is cleaned
    # up with it.
    drafts = config.paths.home / "drafts"
    drafts.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = Path(tempfile.mkdtemp(prefix="memory-", dir=drafts))
    draft = scratch / file.name
    draft.write_text(original, encoding="utf-8")
    interactive = sys.stdin.isatty()
    while True:
        try:
            finished = subprocess.run([*shlex.split(command), str(draft)], check=False)
        except (OSError, ValueError) as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            typer.echo(f"cannot start the editor {command!r}: {exc}", err=True)
            raise typer.Exit(EXIT_FAILURE) from None
        if finished.returncode != 0:
            _keep(draft, f"the editor exited with status {finished.returncode}; {file.name} was not changed")
        text = file.normalized(draft.read_text(encoding="utf-8", errors="replace"))
        if text == file.normalized(original):
            shutil.rmtree(scratch, ignore_errors=True)
            typer.echo(f"No changes to {file.name}.")
            return
        size = file.size(text)
        if size <= file.limit:
            break
        problem = f"{file.name} would hold {size} chars, over its {file.limit}-char limit"
        if not interactive or not typer.confirm(f"{problem}. Edit again?", default=True):
            _keep(draft, f"{problem}; it was not changed")
    if file.read() != original:
        problem = f"{file.name} changed while you were editing (the agent may have saved a memory)"
        if not interactive or not typer.confirm(f"{problem}. Replace it with your version?", default=False):
            _keep(draft, f"{problem}; it was not changed")
    from hermes.fileio import write_atomic

    write_atomic(file.path, text)
    shutil.rmtree(scratch, ignore_errors=True)
    typer.echo(f"Saved {file.name}: {file.size(text)} of {file.limit} chars.")


def _keep(draft: Path, problem: str) -> None:
    typer.echo(f"{problem}. Your text is kept in {draft}.", err=True)
    raise typer.Exit(EXIT_FAILURE)


@app.command("clear")
def clear(
    name: str | None = _FILE,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Empty MEMORY.md and USER.md (or the one FILE given); SOUL.md goes back to the default identity."""
    from hermes.agent.memory import DEFAULT_SOUL
    from hermes.fileio import write_atomic

    files = memory_files(load_or_exit().paths)
    chosen = [_pick(files, name)] if name else [files["MEMORY.md"], files["USER.md"]]
    names = " and ".join(file.name for file in chosen)
    if not yes:
        if not sys.stdin.isatty():
            typer.echo(f"Clearing {names} cannot be undone; add --yes to do it without a terminal.", err=True)
            raise typer.Exit(EXIT_FAILURE)
        if not typer.confirm(f"Clear {names}? This cannot be undone", default=False):
            typer.echo("Nothing was changed.")
            return
    for file in chosen:
        if file.entries:
            write_atomic(file.path, "")
            typer.echo(f"Cleared {file.name}.")
        else:
            write_atomic(file.path, DEFAULT_SOUL)
            typer.echo(f"Reset {file.name} to the default identity.")
