"""Who a post mentions, by the server's rules.

Keywords come from `MentionKeywords.AddUser` (app/mention_keywords.go), the words from
`StandardMentionParser.ProcessText` (app/mention_parser_standard.go), fed only with the Markdown text
nodes of the message (`getExplicitMentions`, app/notification.go): code spans and blocks never mention.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from markdown_it import MarkdownIt

from .model import User

Keywords = dict[str, list[str]]

# Split on any rune that is not a letter, a digit or one of `:.-_@` (strings.FieldsFunc in ProcessText).
_WORD_RUN = re.compile(r"[\w:.\-@]+")
_SUB_WORD_SPLIT = re.compile(r"[.\-:]")
_SYSTEM_MENTIONS = frozenset({"@here", "@channel", "@all"})
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown_text_runs(message: str) -> Iterator[str]:
    """Adjacent Markdown text nodes joined; any other node (code, line break, emphasis) ends a run."""
    buffer: list[str] = []
    for token in _MARKDOWN.parse(message):
        if token.type != "inline" or not token.children:
            if buffer:
                yield "".join(buffer)
                buffer = []
            continue
        for child in token.children:
            if child.type == "text":
                buffer.append(child.content)
            elif buffer:
                yield "".join(buffer)
                buffer = []
    if buffer:
        yield "".join(buffer)


def add_user_keywords(
    keywords: Keywords,
    user: User,
    member_props: Mapping[str, str],
    online: bool,
    allow_channel_mentions: bool,
) -> None:
    """`MentionKeywords.AddUser`."""
    keywords.setdefault("@" + user.username.lower(), []).append(user.id)
    for key in user.notify_props.get("mention_keys", "").split(","):
        if key.strip():
            keywords.setdefault(key.strip().lower(), []).append(user.id)
    if user.notify_props.get("first_name") == "true" and user.first_name:
        keywords.setdefault(user.first_name, []).append(user.id)
    if not allow_channel_mentions:
        return
    ignore = member_props.get("ignore_channel_mentions", "default")
    muted = member_props.get("mark_unread") == "mention"
    ignores_channel_mentions = ignore == "on" or (muted and ignore == "default")
    if user.notify_props.get("channel") == "true" and not ignores_channel_mentions:
        keywords.setdefault("@channel", []).append(user.id)
        keywords.setdefault("@all", []).append(user.id)
        if online:
            keywords.setdefault("@here", []).append(user.id)


class _Parser:
    def __init__(self, keywords: Keywords) -> None:
        self.keywords = keywords
        self.mentioned: set[str] = set()
        self._multibyte = [key for key in keywords if len(key.encode()) != len(key)]

    def _check(self, word: str) -> bool:
        ids = self.keywords.get(word.lower())
        if ids is None:
            ids = self.keywords.get(word)
        if ids is None:
            return False
        self.mentioned.update(ids)
        return True

    def process(self, text: str) -> None:
        for word in _WORD_RUN.findall(text):
            if word[0] == ":" and word[-1] == ":":
                continue
            word = word.lstrip(":.-_")
            if self._check(word):
                continue
            stripped = word
            found = False
            while stripped and stripped[-1] in ".-:_":
                stripped = stripped[:-1]
                if self._check(stripped):
                    found = True
                    break
            if found:
                continue
            if not (word not in _SYSTEM_MENTIONS and word.startswith("@")) and any(c in word for c in ".-:"):
                for part in _SUB_WORD_SPLIT.split(word):
                    if part:
                        self._check(part)
            self._check_multibyte(word)

    def _check_multibyte(self, word: str) -> None:
        if len(word.encode()) == len(word):
            return
        matched: list[str] | None = None
        for key in self._multibyte:
            if key in word:
                matched = self.keywords[key]
        if matched:
            self.mentioned.update(matched)


def explicit_mentions(messages: Iterable[str], keywords: Keywords) -> set[str]:
    """User ids whose keywords appear in the Markdown text of `messages`."""
    parser = _Parser(keywords)
    for message in messages:
        for run in markdown_text_runs(message):
            parser.process(run)
    return parser.mentioned
