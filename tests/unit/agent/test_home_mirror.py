"""What replicas accept as a shared file (agent.home_mirror): the same limits as the memory tool, UTF-8,
readable skill front matter, and only SOUL.md, memories/ and skills/."""

from __future__ import annotations

import pytest

from hermes.agent.home_mirror import MAX_DOCUMENT_BYTES, RefusedDocument, check_document, is_shared_path
from hermes.agent.memory import MEMORY_LIMIT, SOUL_LIMIT, USER_LIMIT


@pytest.mark.parametrize(
    ("rel", "limit"),
    [
        ("SOUL.md", SOUL_LIMIT),
        ("memories/MEMORY.md", MEMORY_LIMIT),
        ("memories/USER.md", USER_LIMIT),
        ("memories/users/ada-0123456789/USER.md", USER_LIMIT),
    ],
)
def test_each_memory_file_keeps_its_limit(rel: str, limit: int) -> None:
    assert check_document(rel, b"x" * limit + b"\n\n") == "x" * limit + "\n\n"
    with pytest.raises(RefusedDocument, match=f"holds {limit + 1} chars, over its {limit}-char limit"):
        check_document(rel, b"x" * (limit + 1))


def test_text_that_is_not_utf8_is_refused_with_where_it_breaks() -> None:
    with pytest.raises(RefusedDocument, match=r"not UTF-8 text \(byte 0xe9 at offset 3\)"):
        check_document("skills/a/b/notes.md", b"caf\xe9")


def test_a_file_over_the_shared_size_is_refused() -> None:
    assert check_document("skills/a/b/data.txt", b"a" * MAX_DOCUMENT_BYTES)
    with pytest.raises(RefusedDocument, match="larger than the 1024 KiB"):
        check_document("skills/a/b/data.txt", b"a" * (MAX_DOCUMENT_BYTES + 1))


def test_a_skill_without_front_matter_is_shared_as_on_one_host() -> None:
    assert check_document("skills/ops/x/SKILL.md", b"# Steps\n") == "# Steps\n"


@pytest.mark.parametrize("text", ["---\nname: [broken\n---\n", "---\nname: x\n", "---\n- a list\n---\n"])
def test_a_skill_with_unreadable_front_matter_is_refused(text: str) -> None:
    with pytest.raises(RefusedDocument, match="front matter is not readable"):
        check_document("skills/ops/x/SKILL.md", text.encode())
    # The same text beside a skill is a supporting file, shared as it is.
    assert check_document("skills/ops/x/notes.md", text.encode()) == text


@pytest.mark.parametrize(
    ("rel", "shared"),
    [
        ("SOUL.md", True),
        ("memories/MEMORY.md", True),
        ("skills/ops/x/SKILL.md", True),
        ("config.yaml", False),
        (".env", False),
        ("memories", False),
        ("../SOUL.md", False),
        ("skills/../.env", False),
        ("skills/.git/config", False),
        ("memories//USER.md", False),
        ("state.db", False),
    ],
)
def test_only_soul_memories_and_skills_are_shared(rel: str, shared: bool) -> None:
    assert is_shared_path(rel) is shared
