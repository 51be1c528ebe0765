"""File tools (`read_file`, `write_file`, `patch`, `list_dir`, `search_files`), confined to the workspace.

Every path is resolved (symlinks followed) and must land inside the workspace root, so `..`, absolute paths
elsewhere and symlinks pointing out are refused alike. Reads are capped; writes go to a temporary file in
the same directory, are fsynced and renamed over the target, so a reader never sees half a file.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import re2

from hermes.agent.tools.base import (
    ToolArgumentError,
    ToolContext,
    ToolResult,
    int_arg,
    register_tool,
    string_arg,
)
from hermes.fileio import write_atomic

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_READ_CHARS = 40_000
MAX_WRITE_CHARS = 5 * 1024 * 1024
MAX_LIST_ENTRIES = 500
_BINARY_SNIFF = 8192
_MAX_LINE_CHARS = 2000
# search_files: RE2 matches in time linear in the text, and these caps bound that text and the pattern, so
# no pattern the model writes can hold the interpreter (and with it the whole gateway) for long.
MAX_PATTERN_CHARS = 1000
MAX_SEARCH_LINE_CHARS = 10_000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is the model's error, reported to it, not to stderr
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv"})


class PathRefused(ToolArgumentError):
    """The path leaves the workspace or cannot name a file there."""


def workspace_root(ctx: ToolContext) -> Path:
    """`agent.workspace` (relative to HERMES_HOME when relative), else HERMES_HOME/workspace."""
    configured = ctx.settings.agent.workspace
    if not configured:
        return ctx.paths.workspace
    root = Path(configured).expanduser()
    return root if root.is_absolute() else ctx.paths.home / root


def resolve_in(root: Path, raw: str, *, what: str = "path") -> Path:
    """`raw` (relative to `root`, or absolute) as a resolved path inside `root`. Blocking (stat calls)."""
    if "\x00" in raw:
        raise PathRefused(f"{what} {raw!r} contains a NUL byte")
    base = root.resolve()
    candidate = Path(raw).expanduser()
    full = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if full != base and not full.is_relative_to(base):
        raise PathRefused(
            f"{what} {raw!r} is outside the workspace ({base}); use a path inside it "
            "(symlinks and '..' that lead out are refused)"
        )
    return full


def _shown(root: Path, path: Path) -> str:
    relative = path.relative_to(root.resolve())
    return str(relative) if str(relative) != "." else "."


def _looks_binary(sample: bytes) -> bool:
    return b"\x00" in sample


def _read_text(path: Path, shown: str) -> str:
    if not path.exists():
        raise ToolArgumentError(f"{shown} does not exist")
    if path.is_dir():
        raise ToolArgumentError(f"{shown} is a directory; use list_dir")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ToolArgumentError(
            f"{shown} is {size} bytes, over the {MAX_FILE_BYTES}-byte limit; use search_files or the "
            "terminal to look into it"
        )
    data = path.read_bytes()
    if _looks_binary(data[:_BINARY_SNIFF]):
        raise ToolArgumentError(f"{shown} looks like a binary file; only text files can be read")
    return data.decode("utf-8", errors="replace")


def _file_arg(ctx: ToolContext, args: dict[str, Any], name: str = "path") -> tuple[Path, Path, str]:
    root = workspace_root(ctx)
    raw = string_arg(args, name)
    root.mkdir(parents=True, exist_ok=True)
    path = resolve_in(root, raw)
    return root, path, _shown(root, path)


class ReadFileTool:
    name = "read_file"
    reads_untrusted = True
    description = (
        "Read a text file in your workspace. Lines come numbered (`   12|text`); use offset and limit to "
        f"page through long files (at most {MAX_READ_CHARS} characters per call). Paths are relative to "
        "the workspace."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path, relative to the workspace."},
            "offset": {"type": "integer", "minimum": 1, "description": "First line to show (1-based)."},
            "limit": {"type": "integer", "minimum": 1, "maximum": 5000, "description": "Lines to show."},
        },
        "required": ["path"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        offset = int_arg(args, "offset", 1, low=1, high=10_000_000)
        limit = int_arg(args, "limit", 1000, low=1, high=5000)

        def read() -> ToolResult:
            _, path, shown = _file_arg(ctx, args)
            lines = _read_text(path, shown).splitlines()
            if not lines:
                return ToolResult(f"{shown} is empty.", summary=f"{shown}: empty")
            if offset > len(lines):
                raise ToolArgumentError(f"offset {offset} is past the end of {shown} ({len(lines)} lines)")
            out: list[str] = []
            used = 0
            last = offset - 1
            for number in range(offset, min(len(lines), offset + limit - 1) + 1):
                line = lines[number - 1]
                if len(line) > _MAX_LINE_CHARS:
                    line = line[:_MAX_LINE_CHARS] + f"… [{len(line) - _MAX_LINE_CHARS} more chars]"
                rendered = f"{number:>6}|{line}"
                if used + len(rendered) > MAX_READ_CHARS and out:
                    break
                out.append(rendered)
                used += len(rendered) + 1
                last = number
            header = f"{shown} (lines {offset}-{last} of {len(lines)})"
            if last < len(lines):
                header += f"; continue with offset={last + 1}"
            return ToolResult(header + "\n" + "\n".join(out), summary=f"read {shown}")

        return await asyncio.to_thread(read)


class WriteFileTool:
    name = "write_file"
    description = (
        "Create or overwrite a text file in your workspace with the given content (parent directories are "
        "created). The write is atomic. To change part of a file, use patch instead."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path, relative to the workspace."},
            "content": {"type": "string", "description": "The complete new content of the file."},
        },
        "required": ["path", "content"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        content = args.get("content")
        if not isinstance(content, str):
            raise ToolArgumentError("argument 'content' must be a string (use \"\" for an empty file)")
        if len(content) > MAX_WRITE_CHARS:
            raise ToolArgumentError(f"content is {len(content)} chars, over the {MAX_WRITE_CHARS} limit")

        def write() -> ToolResult:
            _, path, shown = _file_arg(ctx, args)
            if path.is_dir():
                raise ToolArgumentError(f"{shown} is a directory")
            existed = path.exists()
            write_atomic(path, content)
            verb = "Overwrote" if existed else "Created"
            return ToolResult(f"{verb} {shown} ({len(content)} chars).", summary=f"wrote {shown}")

        return await asyncio.to_thread(write)


class PatchTool:
    name = "patch"
    description = (
        "Edit a text file in your workspace by replacing old_text with new_text. old_text must match the "
        "file exactly (whitespace included, without read_file's line numbers) and occur once, unless "
        "replace_all is true."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path, relative to the workspace."},
            "old_text": {"type": "string", "description": "The exact text to replace."},
            "new_text": {"type": "string", "description": "The replacement (may be empty)."},
            "replace_all": {"type": "boolean", "description": "Replace every occurrence."},
        },
        "required": ["path", "old_text", "new_text"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        old = string_arg(args, "old_text")
        new = args.get("new_text")
        if not isinstance(new, str):
            raise ToolArgumentError("argument 'new_text' must be a string (\"\" deletes old_text)")
        replace_all = args.get("replace_all", False)
        if not isinstance(replace_all, bool):
            raise ToolArgumentError("argument 'replace_all' must be true or false")

        def apply() -> ToolResult:
            _, path, shown = _file_arg(ctx, args)
            text = _read_text(path, shown)
            count = text.count(old)
            if count == 0:
                raise ToolArgumentError(
                    f"old_text was not found in {shown}; read the file again and copy the text exactly"
                )
            if count > 1 and not replace_all:
                raise ToolArgumentError(
                    f"old_text occurs {count} times in {shown}; include more context to make it unique, "
                    "or set replace_all"
                )
            write_atomic(path, text.replace(old, new))
            return ToolResult(f"Patched {shown}: replaced {count} occurrence(s).", summary=f"patched {shown}")

        return await asyncio.to_thread(apply)


class ListDirTool:
    name = "list_dir"
    description = (
        "List a directory in your workspace: subdirectories end with '/', files show their size. "
        "Defaults to the workspace root."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"path": {"type": "string", "description": "Directory, relative to the workspace."}},
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        def listing() -> ToolResult:
            root = workspace_root(ctx)
            root.mkdir(parents=True, exist_ok=True)
            path = resolve_in(root, string_arg(args, "path", required=False) or ".")
            shown = _shown(root, path)
            if not path.exists():
                raise ToolArgumentError(f"{shown} does not exist")
            if not path.is_dir():
                raise ToolArgumentError(f"{shown} is a file; use read_file")
            with os.scandir(path) as scan:
                entries = sorted(scan, key=lambda e: (not e.is_dir(), e.name))
            if not entries:
                return ToolResult(f"{shown} is empty.", summary=f"{shown}: empty")
            lines = [f"{shown}:"]
            for entry in entries[:MAX_LIST_ENTRIES]:
                if entry.is_dir():
                    lines.append(f"  {entry.name}/")
                else:
                    try:
                        size = entry.stat().st_size
                    except OSError:
                        size = 0
                    lines.append(f"  {entry.name}  ({size} bytes)")
            if len(entries) > MAX_LIST_ENTRIES:
                lines.append(f"  … and {len(entries) - MAX_LIST_ENTRIES} more")
            return ToolResult("\n".join(lines), summary=f"{len(entries)} entries in {shown}")

        return await asyncio.to_thread(listing)


def _walk(root: Path, start: Path) -> Iterator[Path]:
    """Files under `start`, skipping VCS and dependency directories and anything that resolves outside."""
    base = root.resolve()
    for directory, subdirs, files in os.walk(start):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(directory) / name
            if path.is_symlink() and not path.resolve().is_relative_to(base):
                continue
            yield path


class SearchFilesTool:
    name = "search_files"
    reads_untrusted = True
    description = (
        "Search your workspace. target 'content' (default): lines matching a regular expression (RE2 "
        "syntax: no backreferences or lookaround; lines over 10000 characters are not searched), "
        "as path:line: text. target 'files': file paths matching a glob such as '*.py'. Narrow with path "
        "(a subdirectory) and, for content, file_glob."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "A regular expression, or a glob for 'files'."},
            "target": {"type": "string", "enum": ["content", "files"]},
            "path": {"type": "string", "description": "Directory to search, relative to the workspace."},
            "file_glob": {"type": "string", "description": "Only search files whose name matches."},
            "max_results": {"type": "integer", "minimum": 1, "maximum": 500},
        },
        "required": ["pattern"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        pattern = string_arg(args, "pattern")
        target = string_arg(args, "target", required=False, choices=("content", "files")) or "content"
        file_glob = string_arg(args, "file_glob", required=False)
        limit = int_arg(args, "max_results", 50, low=1, high=500)
        if len(pattern) > MAX_PATTERN_CHARS:
            raise ToolArgumentError(
                f"pattern is {len(pattern)} characters long; the limit is {MAX_PATTERN_CHARS}"
            )
        regex: re2._Regexp | None = None
        if target == "content":
            try:
                regex = re2.compile(pattern, _RE2_OPTIONS)
            except re2.error as exc:
                reason = exc.args[0].decode(errors="replace") if exc.args else "invalid"
                raise ToolArgumentError(
                    f"pattern is not a regular expression this search accepts (RE2 syntax: no backreferences "
                    f"or lookaround): {reason}"
                ) from None

        def search() -> ToolResult:
            root = workspace_root(ctx)
            root.mkdir(parents=True, exist_ok=True)
            start = resolve_in(root, string_arg(args, "path", required=False) or ".")
            if not start.is_dir():
                raise ToolArgumentError(f"{_shown(root, start)} is not a directory")
            hits: list[str] = []
            unsearched: list[str] = []
            more = False
            for path in _walk(root, start):
                shown = _shown(root, path)
                if regex is None:
                    if fnmatch.fnmatch(path.name, pattern) or fnmatch.fnmatch(shown, pattern):
                        hits.append(shown)
                elif not file_glob or fnmatch.fnmatch(path.name, file_glob):
                    hits.extend(_grep(path, shown, regex, limit - len(hits) + 1, unsearched))
                if len(hits) > limit:
                    more = True
                    del hits[limit:]
                    break
            note = (
                f"\n[{len(unsearched)} line(s) longer than {MAX_SEARCH_LINE_CHARS} characters not searched, "
                f"first {unsearched[0]}]"
                if unsearched
                else ""
            )
            if not hits:
                return ToolResult(f"Nothing matches {pattern!r}.{note}", summary="no matches")
            text = "\n".join(hits) + ("\n[more matches left out: narrow the search]" if more else "") + note
            return ToolResult(text, summary=f"{len(hits)} match(es)")

        return await asyncio.to_thread(search)


def _grep(path: Path, shown: str, regex: re2._Regexp, room: int, unsearched: list[str]) -> list[str]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return []
        data = path.read_bytes()
    except OSError:
        return []
    if _looks_binary(data[:_BINARY_SNIFF]):
        return []
    found = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if len(line) > MAX_SEARCH_LINE_CHARS:
            unsearched.append(f"{shown}:{number}")
        elif regex.search(line):
            found.append(f"{shown}:{number}: {line[:300]}")
            if len(found) >= room:
                break
    return found


for _tool in (ReadFileTool(), WriteFileTool(), PatchTool(), ListDirTool(), SearchFilesTool()):
    register_tool(_tool)
