"""Changing a few keys of a YAML file in place, keeping everything else byte for byte.

PyYAML can read a file but writing it back loses comments, order and quoting. So we never dump the whole
document: `compose` tells us where each key and value sits in the text (line, column, offset), and only
those spans are rewritten — a scalar is replaced where it stands, a missing key is inserted after its
section's last entry at the section's indentation, a removed key takes its lines with it. Every edit is
checked by loading the result and comparing it with the expected tree; a file we cannot edit safely (an
alias, a scalar where a section should be) raises `YamlEditError` instead of being written wrong.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class YamlEditError(Exception):
    """The edit cannot be made without risking the rest of the file; the message says which key and why."""


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


REMOVE: Any = _Remove()
"""The value that deletes a key (and a section left empty by it)."""

Path = tuple[str, ...]


def edit_yaml(text: str, changes: Mapping[Path, Any]) -> str:
    """`text` with each key path set to its value (or removed, for `REMOVE`), everything else kept."""
    try:
        expected = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise YamlEditError(f"the file is not valid YAML ({exc})") from None
    if expected is None:
        expected = {}
    if not isinstance(expected, dict):
        raise YamlEditError("the top level is not a mapping of keys")
    result = text
    for path, value in changes.items():
        if not path:
            raise ValueError("an empty key path")
        _apply(expected, path, value)
        result = _edit_once(result, path, value)
    loaded = yaml.safe_load(result) if result.strip() else {}
    if (loaded or {}) != expected:
        raise YamlEditError(
            "the edited file would not read back as intended (anchors or an unusual layout?); "
            f"change {', '.join('.'.join(p) for p in changes)} by hand"
        )
    return result


# -- the expected tree ---------------------------------------------------------------------------------


def _apply(tree: dict[str, Any], path: Path, value: Any) -> None:
    node = tree
    parents: list[tuple[dict[str, Any], str]] = []
    for depth, part in enumerate(path[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):
            if value is REMOVE:
                return
            if child is not None:
                raise YamlEditError(f"{'.'.join(path[: depth + 1])} holds a value, not a section of keys")
            child = {}
            node[part] = child
        parents.append((node, part))
        node = child
    if value is REMOVE:
        if path[-1] not in node:
            return
        del node[path[-1]]
        # A section emptied by the removal goes too: `model:` with nothing under it reads as null.
        while parents and not node:
            parent, part = parents.pop()
            del parent[part]
            node = parent
    else:
        node[path[-1]] = copy.deepcopy(value)


# -- text edits ----------------------------------------------------------------------------------------


def _edit_once(text: str, path: Path, value: Any) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    root = yaml.compose(text) if text.strip() else None
    if root is None or (isinstance(root, ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
        if value is REMOVE:
            return text
        prefix = text if not text or text.endswith("\n") else text + newline
        return prefix + _block_entry(path, value, 0, 2, newline)
    if not isinstance(root, MappingNode):
        raise YamlEditError("the top level is not a mapping of keys")
    node: MappingNode = root
    chain: list[tuple[MappingNode, ScalarNode, Node]] = []
    for depth, part in enumerate(path):
        if node.flow_style:
            return _edit_flow(text, chain, node, path[depth:], value, newline)
        entry = _find(node, part)
        where = ".".join(path[: depth + 1])
        if entry is None:
            if value is REMOVE:
                return text
            return _insert(text, node, path[depth:], value, newline, where, _indent_step(root))
        key_node, value_node = entry
        if depth == len(path) - 1:
            if value is REMOVE:
                return _remove(text, [*chain, (node, key_node, value_node)], newline)
            return _replace(text, key_node, value_node, value, newline)
        chain.append((node, key_node, value_node))
        if isinstance(value_node, MappingNode):
            node = value_node
            continue
        if _is_null(value_node):
            if value is REMOVE:
                return text
            step = _indent_step(root)
            block = _block_entry(path[depth + 1 :], value, key_node.start_mark.column + step, step, newline)
            colon = text.index(":", key_node.end_mark.index)
            end = max(value_node.end_mark.index, colon + 1)
            return text[: colon + 1] + newline + block.rstrip("\r\n") + text[end:]
        if value is REMOVE:
            return text
        raise YamlEditError(f"{where} holds a value, not a section of keys")
    return text


def _find(node: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    found = None
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            found = (key_node, value_node)
    return found


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _last_end(node: Node) -> int:
    """Where a value's own text ends. A block collection's end mark lies at the next token, past any
    comments and blank lines that follow it; its last item's end does not."""
    if isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        return _last_end(last[1] if isinstance(node, MappingNode) else last)
    return node.end_mark.index


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    """The start of the line after the one holding `index - 1` (a value's last character)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _indent_step(root: MappingNode) -> int:
    for _, value_node in root.value:
        if isinstance(value_node, MappingNode) and not value_node.flow_style and value_node.value:
            column: int = value_node.value[0][0].start_mark.column
            return max(1, column)
    return 2


def _inline(value: Any) -> str:
    """One line of YAML for a value: plain or quoted scalar, or a flow collection."""
    dumped = yaml.safe_dump(
        value, default_flow_style=True, width=1_000_000, allow_unicode=True, sort_keys=False
    ).rstrip("\n")
    if dumped.endswith("\n..."):
        dumped = dumped[: -len("\n...")]
    if "\n" in dumped:
        raise YamlEditError(f"cannot write {value!r} on one line")
    return dumped


def _block_entry(path: Sequence[str], value: Any, indent: int, step: int, newline: str) -> str:
    """`key:` lines for each level of `path`, then `last: value`, each ending with a newline."""
    lines = []
    for level, part in enumerate(path[:-1]):
        lines.append(" " * (indent + level * step) + f"{_key(part)}:")
    depth = indent + (len(path) - 1) * step
    lines.append(" " * depth + f"{_key(path[-1])}: {_inline(value)}")
    return newline.join(lines) + newline


def _key(name: str) -> str:
    return _inline(name)


def _insert(text: str, node: MappingNode, path: Path, value: Any, newline: str, where: str, step: int) -> str:
    if not node.value:
        raise YamlEditError(f"cannot add {where} to an empty section")
    indent = node.value[0][0].start_mark.column
    at = _line_end(text, _last_end(node))
    prefix = text[:at]
    if prefix and not prefix.endswith("\n"):
        prefix += newline
    return prefix + _block_entry(path, value, indent, step, newline) + text[at:]


def _replace(text: str, key_node: ScalarNode, value_node: Node, value: Any, newline: str) -> str:
    start, end = value_node.start_mark.index, _last_end(value_node)
    if _is_null(value_node) and end <= start:
        # `key:` with nothing after it: the value goes right after the colon.
        colon = text.index(":", key_node.end_mark.index)
        return text[: colon + 1] + " " + _inline(value) + text[colon + 1 :]
    block = isinstance(value_node, MappingNode | SequenceNode) and not value_node.flow_style
    if block and isinstance(value, list) and isinstance(value_node, SequenceNode) and value:
        column = value_node.start_mark.column
        rendered = (newline + " " * column).join(f"- {_inline(item)}" for item in value)
    elif block or value_node.start_mark.line != key_node.start_mark.line:
        # A block value below its key becomes one line next to it.
        colon = text.index(":", key_node.end_mark.index)
        tail = newline if text[start:end].endswith("\n") else ""
        return text[: colon + 1] + " " + _inline(value) + tail + text[end:]
    else:
        rendered = _inline(value)
    if text[start:end].endswith("\n"):
        rendered += newline
    return text[:start] + rendered + text[end:]


def _remove(text: str, chain: list[tuple[MappingNode, ScalarNode, Node]], newline: str) -> str:
    # Climb while the entry is its section's only one: removing it would leave `section:` holding null.
    level = len(chain) - 1
    while level > 0 and len(chain[level][0].value) == 1:
        level -= 1
    _, key_node, value_node = chain[level]
    start = _line_start(text, key_node.start_mark.index)
    if text[start : key_node.start_mark.index].strip():
        raise YamlEditError(f"{key_node.value} shares its line with another entry; remove it by hand")
    end = _line_end(text, _last_end(value_node))
    return text[:start] + text[end:]


def _edit_flow(
    text: str,
    chain: list[tuple[MappingNode, ScalarNode, Node]],
    node: MappingNode,
    path: Path,
    value: Any,
    newline: str,
) -> str:
    """A `{a: 1, b: 2}` section is rewritten whole: it has no comments inside to lose. One emptied by a
    removal goes with its key, like a block section."""
    start, end = node.start_mark.index, node.end_mark.index
    current = yaml.safe_load(text[start:end]) or {}
    updated = copy.deepcopy(current)
    _apply(updated, path, value)
    if updated == current:
        return text
    if not updated and chain:
        return _remove(text, chain, newline)
    return text[:start] + _inline(updated) + text[end:]
