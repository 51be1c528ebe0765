"""No import cycles among src/hermes modules, and no platform named outside its own package.

Module-level imports only (those under `if TYPE_CHECKING:` and inside functions aside): those are the
ones that decide import order and layering.
"""

from __future__ import annotations

import ast
import re
import tokenize
from pathlib import Path

SRC = Path(__file__).parents[2] / "src"
PACKAGE = SRC / "hermes"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                targets.update(alias.name for alias in sub.names)
            elif isinstance(sub, ast.ImportFrom):
                base = sub.module or ""
                if sub.level:
                    parts = package.split(".")[: len(package.split(".")) - sub.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in sub.names)
    return {target for target in targets if target in known and target != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    known = modules()
    graph = {name: imports(name, path, set(known)) for name, path in known.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _code_words(path: Path) -> str:
    """Names and string literals (docstrings and comments aside), lower-cased."""
    source = path.read_text(encoding="utf-8")
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(first.lineno)
    with path.open(encoding="utf-8") as file:
        return " ".join(
            token.string.lower()
            for token in tokenize.generate_tokens(file.readline)
            if token.type == tokenize.NAME
            or (token.type == tokenize.STRING and token.start[0] not in docstrings)
        )


def test_no_platform_is_named_outside_its_package() -> None:
    platforms = [
        p.name for p in (PACKAGE / "platforms").iterdir() if p.is_dir() and not p.name.startswith("_")
    ]
    leaks = {}
    for name in platforms:
        inside = PACKAGE / "platforms" / name
        word = re.compile(rf"\b{name}\b")
        leaks[name] = [
            str(path.relative_to(SRC))
            for path in modules().values()
            if inside not in path.parents and word.search(_code_words(path))
        ]
    assert {name: found for name, found in leaks.items() if found} == {}
