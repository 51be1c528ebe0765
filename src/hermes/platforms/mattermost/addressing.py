"""Whether a Mattermost post is meant for the bot, which thread the answer goes to, and what the agent reads.

Mentions are read the way the server reads them (app/mention_parser_standard.go): only the Markdown text
of the message counts (code spans and blocks never mention), words are split on anything but letters,
digits and `:.-_@`, trailing `.-:_` are peeled off, and matching ignores case. The bot's keywords are its
`@username`, the `mention_keys` of its notification settings and, when enabled there, its first name.

Pure functions, so every rule is tested without a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from markdown_it import MarkdownIt

ChannelType = Literal["O", "P", "D", "G"]

_WORD = re.compile(r"[\w:.\-@]+")
_SUB_WORD = re.compile(r"[.\-:]")
_CHANNEL_WIDE = frozenset({"@channel", "@all", "@here"})
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    username: str
    keywords: frozenset[str]

    @classmethod
    def from_user(cls, user: dict[str, Any]) -> BotIdentity:
        """From `GET /users/me`."""
        username = str(user.get("username") or "").lower()
        keywords = {"@" + username}
        props = found if isinstance(found := user.get("notify_props"), dict) else {}
        for key in str(props.get("mention_keys") or "").split(","):
            if key.strip():
                keywords.add(key.strip().lower())
        first_name = str(user.get("first_name") or "")
        if props.get("first_name") == "true" and first_name:
            keywords.add(first_name.lower())
        return cls(str(user["id"]), username, frozenset(keywords))


@dataclass(frozen=True)
class Policy:
    require_mention: bool
    free_channels: frozenset[str]  # ids or names
    thread_replies: bool


@dataclass(frozen=True)
class Situation:
    """What the adapter knows about one post."""

    post_id: str
    channel_id: str
    channel_name: str
    channel_type: str
    root_id: str
    text: str
    # The server's verdict from the `posted` event (None when unknown: posts read back by catch-up).
    server_mentioned: bool | None = None
    bot_in_thread: bool = False
    # One of the hub's commands with its `/` or `!` (addressed wherever it is posted), or as a bare word
    # after a mention (`@bot sethome`); neither starts a thread.
    is_command: bool = False
    is_bare_command: bool = False


@dataclass(frozen=True)
class Verdict:
    addressed: bool
    mentioned: bool
    thread_id: str | None


def text_runs(message: str) -> Iterator[str]:
    """Adjacent Markdown text nodes joined; code, breaks and formatting end a run."""
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


def _words(message: str) -> Iterator[str]:
    """Candidate keywords, in the variants the server tries for each word."""
    for run in text_runs(message):
        for word in _WORD.findall(run):
            if len(word) > 1 and word[0] == ":" and word[-1] == ":":
                continue  # an emoji
            word = word.lstrip(":.-_").lower()
            yield word
            stripped = word
            while stripped and stripped[-1] in ".-:_":
                stripped = stripped[:-1]
                yield stripped
            if not word.startswith("@") and any(c in word for c in ".-:"):
                yield from (part for part in _SUB_WORD.split(word) if part)


def mentions_bot(message: str, bot: BotIdentity) -> bool:
    return any(word in bot.keywords for word in _words(message))


def mentions_everyone(message: str) -> bool:
    """@channel, @all or @here: the server notifies the bot of these too, but they are not addressed to it."""
    return any(word in _CHANNEL_WIDE for word in _words(message))


def strip_mention(text: str, bot: BotIdentity) -> str:
    """The message without the bot's `@username` (with the `:` or `,` and the space that follow it)."""
    name = re.escape("@" + bot.username)
    pattern = rf"(?<![\w@.\-]){name}(?![\w\-]|\.[\w])[:,]?[ \t]*"
    return re.sub(pattern, "", text, flags=re.IGNORECASE).strip()


def _about_channel(s: Situation) -> bool:
    return s.is_command or s.is_bare_command


def decide(s: Situation, bot: BotIdentity, policy: Policy) -> Verdict:
    """DMs are always addressed. Elsewhere: a mention, a free-response channel, `require_mention` off, a
    reply in a thread the bot takes part in, or one of the hub's commands (`/sethome` typed twice in the
    web client, `!sethome`), since those name no one.

    The answer goes to the post's thread when it is in one. In `thread` reply mode a new post in a channel
    or group message starts a thread on itself, except a command, which is about the channel; DMs stay flat
    so that a DM remains one conversation.
    """
    mentioned = mentions_bot(s.text, bot)
    if s.channel_type == "D":
        addressed = True
    else:
        if not mentioned and s.channel_type != "G" and s.server_mentioned:
            # The server knows keywords the text parse may miss; a bare @channel is not for the bot.
            mentioned = not mentions_everyone(s.text)
        free = s.channel_id in policy.free_channels or s.channel_name in policy.free_channels
        in_bot_thread = bool(s.root_id) and s.bot_in_thread
        addressed = mentioned or free or not policy.require_mention or s.is_command or in_bot_thread
    if s.root_id:
        thread_id: str | None = s.root_id
    elif addressed and policy.thread_replies and s.channel_type != "D" and not _about_channel(s):
        thread_id = s.post_id
    else:
        thread_id = None
    return Verdict(addressed, mentioned, thread_id)
