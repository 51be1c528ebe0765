"""Whether a Matrix message is meant for the bot, which thread it belongs to, and what of it the agent reads.

Pure functions over event content, so every rule is unit-tested without a homeserver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

THREAD = "m.thread"
REPLACE = "m.replace"
_MATRIX_TO = re.compile(r"https://matrix\.to/#/(?P<id>[^\s\"'<>?]+)", re.IGNORECASE)


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    display_name: str | None = None

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]

    @property
    def names(self) -> tuple[str, ...]:
        """The words a person may address the bot by, longest first (a display name may contain spaces)."""
        names = {self.localpart}
        if self.display_name and self.display_name.strip():
            names.add(self.display_name.strip())
        return tuple(sorted(names, key=len, reverse=True))


@dataclass(frozen=True)
class Situation:
    """What the adapter knows about one incoming message."""

    event_id: str
    is_dm: bool
    mentioned: bool
    thread_root: str | None = None
    bot_in_thread: bool = False
    free_room: bool = False
    require_mention: bool = True
    auto_thread: bool = True
    dm_mention_threads: bool = False
    is_command: bool = False


@dataclass(frozen=True)
class Verdict:
    addressed: bool
    thread_id: str | None


def relation(content: dict[str, Any]) -> dict[str, Any]:
    relates_to = content.get("m.relates_to")
    return relates_to if isinstance(relates_to, dict) else {}


def thread_root(content: dict[str, Any]) -> str | None:
    rel = relation(content)
    root = rel.get("event_id")
    return root if rel.get("rel_type") == THREAD and isinstance(root, str) else None


def is_edit(content: dict[str, Any]) -> bool:
    return relation(content).get("rel_type") == REPLACE


def strip_reply_fallback(content: dict[str, Any], body: str) -> str:
    """Drops the quoted "> <@user> ..." block older clients put in front of a reply's body."""
    rel = relation(content)
    is_reply = isinstance(rel.get("m.in_reply_to"), dict) and not rel.get("is_falling_back")
    if not is_reply or not body.startswith("> "):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:])


def _name_pattern(name: str) -> str:
    # "@hermes" and "hermes," count; "x@hermes.org" and "hermes-agent" do not.
    return rf"(?<![\w@])@?{re.escape(name)}(?![\w-])"


def _links_to(html: str, user_id: str) -> bool:
    return any(unquote(m.group("id")).casefold() == user_id.casefold() for m in _MATRIX_TO.finditer(html))


def mentions_bot(content: dict[str, Any], bot: BotIdentity) -> bool:
    """`m.mentions` decides when present (intentional mentions); older clients are read by their text."""
    mentions = content.get("m.mentions")
    if isinstance(mentions, dict):
        user_ids = mentions.get("user_ids")
        return isinstance(user_ids, list) and bot.user_id in user_ids
    body = content.get("body")
    body = body if isinstance(body, str) else ""
    if bot.user_id.casefold() in body.casefold():
        return True
    formatted = content.get("formatted_body")
    if isinstance(formatted, str) and _links_to(formatted, bot.user_id):
        return True
    return any(re.search(_name_pattern(name), body, re.IGNORECASE) for name in bot.names)


def strip_mention(text: str, bot: BotIdentity) -> str:
    """The message without the words that addressed the bot: links, its MXID, `@name`, a leading `name:`."""
    text = _MATRIX_TO.sub(lambda m: "" if unquote(m.group("id")) == bot.user_id else m.group(0), text)
    text = re.sub(re.escape(bot.user_id), "", text, flags=re.IGNORECASE)
    for name in bot.names:
        text = re.sub(rf"(?<!\w)@{re.escape(name)}(?!\w)", "", text, flags=re.IGNORECASE)
    for name in bot.names:
        text = re.sub(rf"^\s*{re.escape(name)}(?!\w)", "", text, count=1, flags=re.IGNORECASE)
    return re.sub(r"^[\s:,]+", "", text).strip()


def decide(situation: Situation) -> Verdict:
    """DMs are always addressed; rooms when mentioned, free, unrestricted, or in a thread the bot is in.

    A message inside a thread belongs to that thread. A new room conversation the bot answers starts a
    thread on the triggering message (auto_thread); in a DM only a mention does, and only when asked to.
    A command outside a thread is about the room itself (`/sethome`, `/status`): it starts no thread.
    """
    s = situation
    if s.is_dm:
        starts_thread = s.mentioned and s.dm_mention_threads
        return Verdict(True, s.thread_root or (s.event_id if starts_thread else None))
    addressed = (
        s.mentioned or s.free_room or not s.require_mention or (s.thread_root is not None and s.bot_in_thread)
    )
    if s.thread_root is not None:
        return Verdict(addressed, s.thread_root)
    return Verdict(addressed, s.event_id if addressed and s.auto_thread and not s.is_command else None)


def ignored_sender(user_id: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    return any(pattern.fullmatch(user_id) for pattern in patterns)
