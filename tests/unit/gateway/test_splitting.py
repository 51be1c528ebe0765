from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from hermes.gateway.splitting import split_message

MARKER = re.compile(r"\n\((\d+)/(\d+)\)$")


def strip_markers(chunks: list[str]) -> list[str]:
    return [MARKER.sub("", c) for c in chunks]


def test_text_of_exactly_the_limit_is_one_message() -> None:
    text = "a" * 100
    assert split_message(text, 100) == [text]


def test_text_one_under_the_limit_is_one_message() -> None:
    assert split_message("a" * 99, 100) == ["a" * 99]


def test_text_one_over_the_limit_is_two_marked_messages() -> None:
    chunks = split_message("word " * 20 + "x", 100)
    assert len(chunks) == 2
    assert all(len(c) <= 100 for c in chunks)
    assert chunks[0].endswith("\n(1/2)") and chunks[1].endswith("\n(2/2)")


def test_paragraph_boundaries_are_preferred() -> None:
    first = "First paragraph " * 4
    second = "Second paragraph " * 4
    chunks = strip_markers(split_message(f"{first.strip()}\n\n{second.strip()}", 100))
    assert chunks == [first.strip(), second.strip()]


def test_line_boundaries_before_cutting_words() -> None:
    lines = [f"line number {i} with some words" for i in range(10)]
    chunks = strip_markers(split_message("\n".join(lines), 120))
    for chunk in chunks:
        for line in chunk.split("\n"):
            assert line in lines


def test_code_fence_is_closed_and_reopened_with_its_language() -> None:
    code = "\n".join(f"print({i})" for i in range(60))
    text = f"Here:\n\n```python\n{code}\n```\n\nDone."
    chunks = split_message(text, 200)
    assert len(chunks) > 2
    for chunk in strip_markers(chunks):
        assert len(chunk) <= 200
        fences = [line for line in chunk.split("\n") if line.startswith("```")]
        assert len(fences) % 2 == 0, chunk
    bodies = strip_markers(chunks)
    assert bodies[1].startswith("```python\n")
    joined = "\n".join(bodies)
    for i in range(60):
        assert f"print({i})" in joined


def test_one_enormous_line_is_cut() -> None:
    text = "x" * 1000
    chunks = split_message(text, 100)
    assert all(len(c) <= 100 for c in chunks)
    assert "".join(strip_markers(chunks)) == text


def test_twenty_thousand_chars_at_mattermost_limit() -> None:
    text = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum " * 40 for i in range(45))
    chunks = split_message(text, 16_383)
    assert len(chunks) == 2
    assert all(len(c) <= 16_383 for c in chunks)


def test_many_chunks_markers_fit_with_two_digit_counts() -> None:
    chunks = split_message("word " * 3000, 120)
    assert len(chunks) >= 10
    assert all(len(c) <= 120 for c in chunks)
    assert chunks[-1].endswith(f"({len(chunks)}/{len(chunks)})")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=120),
            st.just("```"),
            st.just("```js"),
            st.just(""),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(min_value=40, max_value=400),
)
def test_every_chunk_fits_and_no_text_is_lost(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    chunks = split_message(text, limit)
    assert all(len(c) <= limit for c in chunks)
    words = set(text.split())
    rest = " ".join(strip_markers(chunks))
    for word in words:
        if not word.startswith(("```", "~~~")):
            assert word[: limit // 4] in rest
