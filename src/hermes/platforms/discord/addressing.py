"""Whether a Discord message is meant for the bot, where the answer goes, and what the agent reads.

Pure functions over what the adapter knows, so every rule is tested without a server. The rules are the
reference system's: DMs always; in guilds never in an ignored channel, only in allowed channels (when
any are listed; a thread counts as its parent), and then on a mention, in a free-response channel, with
DISCORD_REQUIRE_MENTION off, or in a thread the bot takes part in (unless DISCORD_THREAD_REQUIRE_MENTION).
A message that mentions someone else but not the bot is not for it, except in free-response channels.
The hub's commands (`/cmd`, `!cmd`) name no one and are addressed wherever they may be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MENTION = re.compile(r"<@!?(\d+)>")
_ANY_MENTION = re.compile(r"<@[!&]?\d+>|@everyone|@here")
THREAD_NAME_CHARS = 80


@dataclass(frozen=True)
class Policy:
    require_mention: bool = True
    thread_require_mention: bool = False
    allowed_channels: frozenset[str] = frozenset()
    ignored_channels: frozenset[str] = frozenset()
    free_channels: frozenset[str] = frozenset()
    no_thread_channels: frozenset[str] = frozenset()
    auto_thread: bool = True
    allow_bots: str = "none"


@dataclass(frozen=True)
class Situation:
    """One message, as the adapter sees it."""

    bot_id: str
    channel_id: str
    is_dm: bool
    content: str
    mention_ids: frozenset[str]  # the message's `mentions` (includes a reply's pinged author)
    mentions_others: bool  # mentions a user, a role or @everyone that is not the bot
    author_is_bot: bool = False
    thread_id: str | None = None  # the thread the message is in (its channel), if any
    parent_id: str | None = None  # the thread's text channel
    bot_in_thread: bool = False
    is_reply: bool = False
    is_command: bool = False
    channel_names: frozenset[str] = frozenset()  # names of the channel (and parent) for name-based lists


@dataclass(frozen=True)
class Verdict:
    addressed: bool
    mentioned: bool
    # Start a thread on this message and answer there (auto-thread).
    start_thread: bool
    reason: str


def mentions_bot(s: Situation) -> bool:
    return s.bot_id in s.mention_ids or s.bot_id in _MENTION.findall(s.content)


def others_mentioned(content: str, bot_id: str, mention_ids: frozenset[str], role_ids: list[str]) -> bool:
    if role_ids or any(m != bot_id for m in mention_ids):
        return True
    return any(token not in (f"<@{bot_id}>", f"<@!{bot_id}>") for token in _ANY_MENTION.findall(content))


def strip_mention(text: str, bot_id: str) -> str:
    """The text without the bot's `<@id>` tokens (and the `:` or `,` after a leading one)."""
    text = re.sub(rf"^\s*<@!?{bot_id}>[:,]?\s*", "", text)
    return re.sub(rf"\s*<@!?{bot_id}>", "", text).strip()


def thread_name(text: str) -> str:
    name = " ".join(_ANY_MENTION.sub("", text).split())
    if len(name) > THREAD_NAME_CHARS:
        name = name[: THREAD_NAME_CHARS - 1].rstrip() + "…"
    return name or "Hermes"


def _in(channels: frozenset[str], s: Situation) -> bool:
    ids = {s.channel_id, s.parent_id or ""} | set(s.channel_names)
    return bool(channels & ids)


def in_scope(policy: Policy, names: set[str]) -> bool:
    """Whether the bot may answer in a channel known by these ids and names (its own and its parent's):
    what the catch-up reads, so that history is not read where nothing would be answered."""
    if policy.ignored_channels & names:
        return False
    return not policy.allowed_channels or bool(policy.allowed_channels & names)


def decide(s: Situation, policy: Policy) -> Verdict:
    mentioned = mentions_bot(s)
    bots_heard = policy.allow_bots == "all" or (policy.allow_bots == "mentions" and mentioned)
    if s.author_is_bot and not bots_heard:
        return Verdict(False, mentioned, False, "from a bot")
    if s.is_dm:
        return Verdict(True, mentioned, False, "dm")
    if _in(policy.ignored_channels, s):
        return Verdict(False, mentioned, False, "ignored channel")
    if policy.allowed_channels and not _in(policy.allowed_channels, s):
        return Verdict(False, mentioned, False, "channel not allowed")
    free = _in(policy.free_channels, s)
    if s.mentions_others and not mentioned and not free:
        return Verdict(False, False, False, "for someone else")
    if s.is_command:
        return Verdict(True, mentioned, False, "command")
    in_thread = s.thread_id is not None and s.bot_in_thread and not policy.thread_require_mention
    addressed = mentioned or free or not policy.require_mention or in_thread
    if not addressed:
        return Verdict(False, False, False, "no mention")
    start_thread = (
        mentioned
        and policy.auto_thread
        and s.thread_id is None
        and not s.is_reply
        and not free
        and not _in(policy.no_thread_channels, s)
    )
    return Verdict(True, mentioned, start_thread, "mention" if mentioned else "free")
