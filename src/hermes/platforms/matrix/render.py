"""Markdown from the agent to Matrix message content: CommonMark with tables, sanitised HTML, user pills.

`body` keeps the raw Markdown (what clients without HTML show, and what an edit's fallback quotes);
`formatted_body` is the HTML, run through an allowlist of the tags and attributes the Matrix spec suggests.
Every `@user:server` outside code becomes a pill and is listed in `m.mentions`, which is always present, so
clients never guess mentions from the text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

HTML_FORMAT = "org.matrix.custom.html"
# Localpart grammar from the spec (plus upper case, which older accounts have); the server name must not
# swallow a sentence's final dot.
MXID = re.compile(
    r"(?<![\w/@.])@[A-Za-z0-9._=\-/+]+:(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*)(?::\d{1,5})?"
    r"(?![\w])"
)

_TAGS = {
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub",
    "li", "b", "i", "u", "strong", "em", "s", "strike", "code", "hr", "br", "div", "table", "thead",
    "tbody", "tr", "th", "td", "caption", "pre", "span", "img", "details", "summary",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "target"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "code": {"class"},
    "th": {"style"},
    "td": {"style"},
    "span": {"data-mx-color", "data-mx-bg-color", "data-mx-spoiler"},
    "font": {"data-mx-color", "data-mx-bg-color", "color"},
}
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    attributes=_ATTRIBUTES,
    url_schemes={"http", "https", "ftp", "mailto", "magnet", "mxc"},
    filter_style_properties={"text-align"},
    link_rel=None,
)


def _pill_link(user_id: str, level: int) -> list[Token]:
    opening = Token("link_open", "a", 1, attrs={"href": f"https://matrix.to/#/{user_id}"}, level=level)
    text = Token("text", "", 0, content=user_id, level=level + 1)
    return [opening, text, Token("link_close", "a", -1, level=level)]


def _split_mentions(token: Token, found: list[str]) -> list[Token]:
    parts: list[Token] = []
    position = 0
    for match in MXID.finditer(token.content):
        if match.start() > position:
            parts.append(Token("text", "", 0, content=token.content[position : match.start()]))
        parts.extend(_pill_link(match.group(0), token.level))
        if match.group(0) not in found:
            found.append(match.group(0))
        position = match.end()
    if not parts:
        return [token]
    if position < len(token.content):
        parts.append(Token("text", "", 0, content=token.content[position:]))
    return parts


def _pills(state: StateCore) -> None:
    """Core rule: MXIDs in plain text (not code, not already inside a link) become matrix.to links."""
    found: list[str] = state.env.setdefault("mentions", [])
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        depth = 0
        for token in block.children:
            if token.type == "link_open":
                depth += 1
            elif token.type == "link_close":
                depth -= 1
            if token.type == "text" and depth == 0 and "@" in token.content:
                children.extend(_split_mentions(token, found))
            else:
                children.append(token)
        block.children = children


def _image_as_link(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Matrix clients only load `mxc://` images; anything else is shown as a link to it."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = html.escape(token.content or src)
    if src.startswith("mxc://"):
        return f'<img src="{html.escape(src)}" alt="{alt}">'
    return f'<a href="{html.escape(src)}">{alt}</a>'


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"breaks": True, "html": False}).enable(["table", "strikethrough"])
    md.core.ruler.push("matrix_pills", _pills)
    md.add_render_rule("image", _image_as_link)
    return md


_MD = _markdown()


@dataclass(frozen=True)
class Rendered:
    body: str
    html: str | None
    mentions: tuple[str, ...]


def render(markdown: str) -> Rendered:
    """The HTML is left out when it would say nothing the plain text does not."""
    env: dict[str, Any] = {}
    raw_html = _MD.render(markdown, env)
    mentions = tuple(env.get("mentions", ()))
    if raw_html == f"<p>{escapeHtml(markdown.strip())}</p>\n":
        return Rendered(markdown, None, mentions)
    return Rendered(markdown, _CLEANER.clean(raw_html).rstrip("\n"), mentions)


def text_content(markdown: str, msgtype: str = "m.text") -> dict[str, Any]:
    rendered = render(markdown)
    content: dict[str, Any] = {"msgtype": msgtype, "body": rendered.body}
    if rendered.html is not None:
        content["format"] = HTML_FORMAT
        content["formatted_body"] = rendered.html
    content["m.mentions"] = {"user_ids": list(rendered.mentions)} if rendered.mentions else {}
    return content


def without_html(content: dict[str, Any]) -> dict[str, Any]:
    """The same message as plain text (for content too large for one event with its HTML)."""
    plain = {k: v for k, v in content.items() if k not in ("format", "formatted_body")}
    new_content = plain.get("m.new_content")
    if isinstance(new_content, dict):
        plain["m.new_content"] = without_html(new_content)
    return plain
