"""HTML to readable, Markdown-ish text for `web_extract`: headings, paragraphs, lists, links, code, tables
as rows; scripts, styles, navigation chrome and hidden parts left out."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_DROPPED = frozenset(
    {"script", "style", "noscript", "template", "svg", "canvas", "iframe", "nav", "footer", "form"}
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "aside", "blockquote", "figure", "figcaption",
        "table", "thead", "tbody", "tfoot", "ul", "ol", "dl", "dt", "dd", "address", "details", "summary",
    }
)  # fmt: skip
_HEADINGS = {"h1": "#", "h2": "##", "h3": "###", "h4": "####", "h5": "#####", "h6": "######"}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title: list[str] = []
        self._dropped: list[str] = []
        self._in_title = False
        self._pre = 0
        self._links: list[tuple[str, int]] = []
        self._lists: list[str] = []
        self._cells = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if self._dropped:
            if tag not in _VOID:
                self._dropped.append(tag)
            return
        if tag == "title":
            self._in_title = True
            return
        hidden = "hidden" in attributes or attributes.get("aria-hidden") == "true"
        if (tag in _DROPPED or hidden) and tag not in _VOID:
            self._dropped.append(tag)
            return
        if tag in _HEADINGS:
            self._block(f"{_HEADINGS[tag]} ")
        elif tag in _BLOCKS:
            if tag in ("ul", "ol"):
                self._lists.append(tag)
            self._block()
        elif tag == "li":
            depth = max(len(self._lists) - 1, 0)
            marker = "1." if self._lists and self._lists[-1] == "ol" else "-"
            self._newline()
            self.out.append("  " * depth + marker + " ")
        elif tag == "tr":
            self._newline()
            self._cells = 0
        elif tag in ("td", "th"):
            if self._cells:
                self.out.append(" | ")
            self._cells += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "hr":
            self._block("---")
            self._block()
        elif tag == "pre":
            self._block("```\n")
            self._pre += 1
        elif tag == "code" and not self._pre:
            self.out.append("`")
        elif tag == "a":
            self._links.append((attributes.get("href") or "", len(self.out)))
        elif tag == "img" and attributes.get("alt"):
            self.out.append(f"[image: {attributes['alt']}]")

    def handle_endtag(self, tag: str) -> None:
        if self._dropped:
            if self._dropped[-1] == tag:
                self._dropped.pop()
            return
        if tag == "title":
            self._in_title = False
        elif tag in _HEADINGS or tag in _BLOCKS:
            if tag in ("ul", "ol") and self._lists:
                self._lists.pop()
            self._block()
        elif tag == "pre" and self._pre:
            self._pre -= 1
            self._newline()
            self.out.append("```")
            self._block()
        elif tag == "code" and not self._pre:
            self.out.append("`")
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            text = "".join(self.out[start:]).strip()
            if href.startswith(("http://", "https://")) and text and text != href:
                del self.out[start:]
                self.out.append(f"[{text}]({href})")

    def handle_data(self, data: str) -> None:
        if self._dropped:
            return
        if self._in_title:
            self.title.append(data)
            return
        if self._pre:
            self.out.append(data)
            return
        text = _SPACES.sub(" ", data.replace("\n", " "))
        if self._last_char() in " \n":
            text = text.lstrip()
        if text:
            self.out.append(text)

    def _last_char(self) -> str:
        for piece in reversed(self.out):
            if piece:
                return piece[-1]
        return "\n"

    def _newline(self) -> None:
        if self._last_char() != "\n":
            self.out.append("\n")

    def _block(self, prefix: str = "") -> None:
        self.out.append("\n\n" + prefix)


def html_to_text(html: str) -> tuple[str, str]:
    """The page's (title, readable text)."""
    converter = _Converter()
    converter.feed(html)
    converter.close()
    lines = [line.rstrip() for line in "".join(converter.out).split("\n")]
    text = _BLANK_RUNS.sub("\n\n", "\n".join(line if line.strip() else "" for line in lines)).strip()
    title = " ".join("".join(converter.title).split())
    return title, text
