"""The line-based YAML editor: only the keys asked for change; comments, order and the rest stay."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes.config.yaml_edit import REMOVE, YamlEditError, edit_yaml

CONFIG = """\
# Hermes, hand-written
model:
  provider: openrouter   # the usual one
  default: "anthropic/claude-sonnet-4"

colour: blue             # not ours: must survive
matrix:
  allowed_users:
    - "@a:x.org"
    - "@b:x.org"
  # require_mention: false
  auto_thread: true
"""


def test_a_scalar_is_replaced_in_place_keeping_its_comment() -> None:
    edited = edit_yaml(CONFIG, {("model", "provider"): "custom"})
    assert edited == CONFIG.replace("provider: openrouter ", "provider: custom ")


def test_a_new_key_goes_at_the_end_of_its_section_with_its_indentation() -> None:
    edited = edit_yaml(CONFIG, {("model", "base_url"): "http://127.0.0.1:11434"})
    assert edited.splitlines()[1:5] == [
        "model:",
        "  provider: openrouter   # the usual one",
        '  default: "anthropic/claude-sonnet-4"',
        "  base_url: http://127.0.0.1:11434",
    ]
    assert edited.count("\n") == CONFIG.count("\n") + 1


def test_a_new_section_is_appended_and_everything_else_stays() -> None:
    edited = edit_yaml(CONFIG, {("api_server", "port"): 9000, ("api_server", "enabled"): True})
    assert edited.startswith(CONFIG)
    assert edited[len(CONFIG) :] == "api_server:\n  port: 9000\n  enabled: true\n"


def test_a_block_list_is_rewritten_as_a_block_list() -> None:
    edited = edit_yaml(CONFIG, {("matrix", "allowed_users"): ["@c:x.org", "@d:x.org", "@e:x.org"]})
    assert "    - '@c:x.org'\n    - '@d:x.org'\n    - '@e:x.org'\n  # require_mention: false\n" in edited
    assert yaml.safe_load(edited)["matrix"]["auto_thread"] is True


def test_an_emptied_list_and_a_list_replacing_a_scalar() -> None:
    edited = edit_yaml(CONFIG, {("matrix", "allowed_users"): [], ("colour",): ["red", "green"]})
    loaded = yaml.safe_load(edited)
    assert loaded["matrix"]["allowed_users"] == []
    assert loaded["colour"] == ["red", "green"]
    assert "# not ours: must survive" in edited


def test_removing_a_key_takes_its_lines_and_keeps_the_comments_around() -> None:
    edited = edit_yaml(CONFIG, {("matrix", "allowed_users"): REMOVE})
    assert "allowed_users" not in edited and "@a:x.org" not in edited
    assert "  # require_mention: false\n  auto_thread: true\n" in edited


def test_removing_the_last_key_of_a_section_removes_the_section() -> None:
    text = "model:\n  api_key: sk-123\nother: 1\n"
    assert edit_yaml(text, {("model", "api_key"): REMOVE}) == "other: 1\n"


def test_removing_something_absent_changes_nothing() -> None:
    assert edit_yaml(CONFIG, {("nothing", "here"): REMOVE, ("model", "absent"): REMOVE}) == CONFIG


def test_an_empty_file_and_an_empty_section() -> None:
    assert edit_yaml("", {("model", "provider"): "custom"}) == "model:\n  provider: custom\n"
    assert edit_yaml("# only a comment\n", {("a",): 1}) == "# only a comment\na: 1\n"
    assert edit_yaml("model:\nother: 1\n", {("model", "default"): "m"}) == "model:\n  default: m\nother: 1\n"
    assert edit_yaml("model: ~\n", {("model", "default"): "m"}) == "model:\n  default: m\n"
    assert edit_yaml("a:\nb: 2\n", {("a",): 5}) == "a: 5\nb: 2\n"


def test_values_that_need_quotes_are_quoted() -> None:
    edited = edit_yaml("a: 1\n", {("b",): "yes", ("c",): "", ("d",): "${VAR}", ("e",): "x: y # z"})
    assert yaml.safe_load(edited) == {"a": 1, "b": "yes", "c": "", "d": "${VAR}", "e": "x: y # z"}


def test_a_flow_section_is_rewritten_whole() -> None:
    edited = edit_yaml("model: {provider: x}  # flow\n", {("model", "default"): "m"})
    assert edited == "model: {provider: x, default: m}  # flow\n"


def test_windows_line_endings_are_kept() -> None:
    edited = edit_yaml("a: 1\r\nb:\r\n  c: 2\r\n", {("b", "d"): 3})
    assert edited == "a: 1\r\nb:\r\n  c: 2\r\n  d: 3\r\n"


def test_a_block_scalar_is_replaced_without_eating_the_next_key() -> None:
    edited = edit_yaml("a: |\n  hello\n  world\nb: 2\n", {("a",): "short"})
    assert yaml.safe_load(edited) == {"a": "short", "b": 2}


@pytest.mark.parametrize(
    ("text", "changes", "problem"),
    [
        ("model: openrouter\n", {("model", "default"): "m"}, "model holds a value"),
        ("- a\n- b\n", {("a",): 1}, "top level is not a mapping"),
        ("a: [unclosed\n", {("a",): 1}, "not valid YAML"),
        ("a: 1\n---\nb: 2\n", {("a",): 1}, "not valid YAML"),
    ],
)
def test_what_cannot_be_edited_safely_is_refused(text: str, changes: dict[Any, Any], problem: str) -> None:
    with pytest.raises(YamlEditError, match=problem):
        edit_yaml(text, changes)


def test_an_anchored_section_is_edited_where_it_is_written() -> None:
    text = "base: &b\n  x: 1\nother: *b\n"
    edited = edit_yaml(text, {("other", "x"): 2})
    assert edited == "base: &b\n  x: 2\nother: *b\n"
    assert yaml.safe_load(edited) == {"base": {"x": 2}, "other": {"x": 2}}


# -- any tree, any edit ----------------------------------------------------------------------------------

_names = st.sampled_from(["model", "matrix", "a", "b", "c", "list", "x_y"])
_scalars = st.one_of(
    st.integers(-5, 10_000),
    st.booleans(),
    st.none(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)
_values = st.one_of(_scalars, st.lists(_scalars.filter(lambda v: v is not None), max_size=3))
_trees = st.recursive(
    st.dictionaries(_names, _values, max_size=4),
    lambda children: st.dictionaries(_names, st.one_of(_values, children), max_size=4),
    max_leaves=12,
)


def _apply(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> bool:
    """The expected result; False when the edit is not one we make (a scalar where a section is)."""
    node = tree
    parents = []
    for part in path[:-1]:
        child = node.get(part)
        if child is None or child == {}:
            if value is REMOVE:
                return True
            child = node[part] = {}
        if not isinstance(child, dict):
            return value is REMOVE and False
        parents.append((node, part))
        node = child
    if value is REMOVE:
        if path[-1] not in node:
            return True
        del node[path[-1]]
        while parents and not node:
            parent, part = parents.pop()
            del parent[part]
            node = parent
    else:
        node[path[-1]] = value
    return True


@settings(max_examples=150, deadline=None)
@given(
    tree=_trees,
    path=st.lists(_names, min_size=1, max_size=3).map(tuple),
    value=st.one_of(_values.filter(lambda v: v is not None), st.just(REMOVE)),
    comment=st.booleans(),
    flow=st.sampled_from([False, None]),
)
def test_any_edit_reads_back_as_the_tree_with_that_edit(
    tree: dict[str, Any], path: tuple[str, ...], value: Any, comment: bool, flow: bool | None
) -> None:
    text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, default_flow_style=flow) if tree else ""
    if comment:
        text = "# keep me\n" + text
    expected = copy.deepcopy(tree)
    if not _apply(expected, path, value):
        return
    try:
        edited = edit_yaml(text, {path: value})
    except YamlEditError:
        # Refused is allowed only where the path runs through a value that is not a section.
        node: Any = tree
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            if node is not None and not isinstance(node, dict):
                return
        raise
    assert (yaml.safe_load(edited) or {}) == expected
    if comment:
        assert edited.startswith("# keep me\n")
