"""Splitting a reply that is longer than a platform allows.

Chunks break at paragraph boundaries where they can, then at line boundaries, and only as a last resort
inside a line. A code fence cut in two is closed at the end of one chunk and reopened, with its
language, at the start of the next, so each message renders on its own. Each chunk ends with `(i/N)`.
"""

from __future__ import annotations

from dataclasses import dataclass

_FENCE_MARKS = ("```", "~~~")


@dataclass(frozen=True)
class _Line:
    text: str
    opener: str | None  # the fence opened before this line starts, if any


def _annotate(lines: list[str]) -> list[_Line]:
    annotated = []
    opener: str | None = None
    for line in lines:
        annotated.append(_Line(line, opener))
        stripped = line.strip()
        if opener is None and stripped.startswith(_FENCE_MARKS):
            opener = stripped
        elif opener is not None and stripped.startswith(opener[:3]) and stripped.strip("`~") == "":
            opener = None
    return annotated


def _closing(opener: str) -> str:
    return opener[:3]


def _render(lines: list[_Line], start: int, end: int) -> str:
    body = "\n".join(line.text for line in lines[start:end]).strip("\n")
    first = lines[start].opener
    if first is not None:
        body = f"{first}\n{body}"
    last_open = lines[end].opener if end < len(lines) else None
    if last_open is not None:
        body = f"{body}\n{_closing(last_open)}"
    return body


def _hard_split(line: str, budget: int) -> tuple[str, str]:
    """Cut a too-long line at its last whitespace in the second half of the budget, else at the budget."""
    cut = next((i for i in range(budget - 1, budget // 2 - 1, -1) if line[i].isspace()), -1)
    if cut <= 0:
        return line[:budget], line[budget:]
    return line[:cut], line[cut + 1 :]


def _pack(text: str, budget: int) -> list[str]:
    lines = _annotate(text.split("\n"))
    chunks: list[str] = []
    start = 0
    while start < len(lines):
        best_paragraph = best_line = best_any = None
        for end in range(start + 1, len(lines) + 1):
            size = len(_render(lines, start, end))
            if size > budget:
                break
            if end == len(lines):
                best_paragraph = best_line = best_any = end
                break
            in_fence = lines[end].opener is not None
            paragraph = not in_fence and (lines[end].text == "" or lines[end - 1].text == "")
            best_any = end
            if not in_fence:
                best_line = end
            if paragraph and size >= budget // 2:
                best_paragraph = end
        cut: int | None
        if best_paragraph is not None:
            cut = best_paragraph
        elif best_line is not None and len(_render(lines, start, best_line)) >= budget // 4:
            cut = best_line
        else:
            cut = best_any
        if cut is None:
            # One line longer than the budget (with any fence lines around it): cut inside the line.
            overhead = len(_render(lines, start, start + 1)) - len(lines[start].text)
            head, tail = _hard_split(lines[start].text, max(1, budget - overhead))
            opener = lines[start].opener
            lines[start : start + 1] = [_Line(head, opener), _Line(tail, opener)]
            continue
        chunk = _render(lines, start, cut)
        if chunk.strip():
            chunks.append(chunk)
        start = cut
        while start < len(lines) and lines[start].text == "" and lines[start].opener is None:
            start += 1
    return chunks


def split_message(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` characters each, markers included."""
    if len(text) <= limit:
        return [text]
    digits = 1
    while True:
        marker_room = len(f"\n({'9' * digits}/{'9' * digits})")
        chunks = _pack(text, limit - marker_room)
        if len(str(len(chunks))) <= digits:
            break
        digits = len(str(len(chunks)))
    total = len(chunks)
    return [f"{chunk}\n({index}/{total})" for index, chunk in enumerate(chunks, 1)]
