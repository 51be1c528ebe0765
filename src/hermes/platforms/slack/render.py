"""Markdown from the model, rendered as Slack mrkdwn (formatting-message-text).

Slack has its own markup: `*bold*`, `_italic_`, `~strike~`, `<url|label>` links, ``` fences without a
language, and no headings or tables. `&`, `<` and `>` in text must be escaped as entities, or Slack reads
them as markup. Code keeps its characters (escaped the same way, which Slack shows literally).

A table cannot be drawn in mrkdwn, so it becomes aligned monospace text, and the message also gets
blocks: mrkdwn sections for the prose and a preformatted rich-text block for each table, which the
clients show with a fixed-width font and horizontal scrolling. The plain text stays as the fallback
(notifications, old clients).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SECTION_LIMIT = 3_000
MAX_BLOCKS = 50
_FENCE = re.compile(r"^(\s*)(```|~~~)")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_AUTOLINK = re.compile(r"&lt;(https?://[^\s&]+)&gt;")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_ITALIC_UNDER = re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_BOLD_MARK = "\x01"
_CODE_MARK = "\x02"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Rendered:
    text: str
    blocks: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class _Part:
    kind: str  # "text" | "table"
    body: str


def render(markdown: str) -> Rendered:
    parts = _parts(markdown)
    text = "\n".join(p.body if p.kind == "text" else f"```\n{escape(p.body)}\n```" for p in parts)
    text = text.strip("\n")
    if not any(p.kind == "table" for p in parts):
        return Rendered(text)
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if part.kind == "table":
            blocks.append(
                {
                    "type": "rich_text",
                    "elements": [
                        {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": part.body}]}
                    ],
                }
            )
        elif part.body.strip():
            blocks += [
                {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
                for piece in pieces(part.body.strip("\n"), SECTION_LIMIT)
            ]
    return Rendered(text, blocks if len(blocks) <= MAX_BLOCKS else None)


def pieces(text: str, limit: int) -> list[str]:
    out = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        out.append(text)
    return out


def _parts(markdown: str) -> list[_Part]:
    lines = markdown.replace("\r\n", "\n").split("\n")
    parts: list[_Part] = []
    prose: list[str] = []
    i = 0

    def flush() -> None:
        if prose:
            parts.append(_Part("text", "\n".join(prose)))
            prose.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(2)
            body = []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith(marker):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence (or the end, for an unclosed one)
            prose.append("```\n" + escape("\n".join(body)) + "\n```")
            continue
        if "|" in line and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
            rows = [_cells(line)]
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_cells(lines[i]))
                i += 1
            flush()
            # Rich-text blocks hold literal text: escaped only where it goes into mrkdwn.
            parts.append(_Part("table", _aligned(rows)))
            continue
        prose.append(_line(line))
        i += 1
    flush()
    return parts


def _cells(line: str) -> list[str]:
    line = line.strip()
    line = line.removeprefix("|").removesuffix("|")
    return [_plain(cell.strip()) for cell in re.split(r"(?<!\\)\|", line)]


def _plain(cell: str) -> str:
    """Table cells are shown monospace, where markup would show as its characters."""
    cell = _BOLD.sub(r"\2", cell)
    cell = _LINK.sub(r"\1 (\2)", cell)
    return cell.replace("\\|", "|").replace("`", "")


def _aligned(rows: list[list[str]]) -> str:
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    sizes = [max(len(r[c]) for r in rows) for c in range(width)]
    lines = [" | ".join(cell.ljust(sizes[c]) for c, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "-+-".join("-" * size for size in sizes))
    return "\n".join(lines)


def _line(line: str) -> str:
    heading = _HEADING.match(line)
    if heading:
        return "*" + _inline(_BOLD.sub(r"\2", heading.group(1))) + "*"
    quote = _QUOTE.match(line)
    if quote:
        return ">" + " " + _inline(line[quote.end() :])
    bullet = _BULLET.match(line)
    if bullet:
        return f"{bullet.group(1)}• {_inline(line[bullet.end() :])}"
    return _inline(line)


def _inline(text: str) -> str:
    codes: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        codes.append("`" + escape(match.group(2).strip()) + "`")
        return f"{_CODE_MARK}{len(codes) - 1}{_CODE_MARK}"

    text = _INLINE_CODE.sub(keep_code, text)
    text = escape(text)
    text = _IMAGE.sub(lambda m: f"<{m.group(2)}|{m.group(1) or m.group(2)}>", text)
    text = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    text = _AUTOLINK.sub(r"<\1>", text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC_STAR.sub(r"_\1_", text)
    text = _ITALIC_UNDER.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    text = text.replace(_BOLD_MARK, "*")
    return re.sub(f"{_CODE_MARK}(\\d+){_CODE_MARK}", lambda m: codes[int(m.group(1))], text)


_ENTITY = re.compile(r"&(amp|lt|gt);")
_SLACK_LINK = re.compile(
    r"<(https?://[^|>]+)\|([^>]+)>|<(https?://[^>]+)>|<#(C\w+)\|([^>]*)>|<!(here|channel|everyone)>"
)


def to_plain(text: str) -> str:
    """Slack markup from a person, as the agent should read it: links and channel names spelled out,
    entities decoded. User mentions stay as `<@U…>` ids, which the agent can use to address people."""

    def link(match: re.Match[str]) -> str:
        url, label, bare, channel, name, special = match.groups()
        if url:
            return label if label == url else f"{label} ({url})"
        if bare:
            return bare
        if channel:
            return f"#{name or channel}"
        return f"@{special}"

    text = _SLACK_LINK.sub(link, text)
    return _ENTITY.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], text)


def fit(text: str, limit: int) -> str:
    """Cut rendered mrkdwn to `limit` characters without splitting an entity, marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"
