"""Whether a Slack message is for the bot, and which thread the answer goes to. Pure rules, the ones of
the system we are compatible with (SLACK_REQUIRE_MENTION, SLACK_STRICT_MENTION, SLACK_FREE_RESPONSE_CHANNELS,
SLACK_ALLOWED_CHANNELS, SLACK_ALLOW_BOTS, SLACK_MENTION_PATTERNS), so each is tested without a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hermes.platforms.base import ChatKind

# Message subtypes that are something a person said; the rest (joins, edits, deletions, topic changes…)
# are the channel's housekeeping.
SPOKEN_SUBTYPES = frozenset({"", "file_share", "thread_broadcast", "bot_message", "me_message"})
PLATFORM = "slack"
KINDS: dict[str, ChatKind] = {"im": "dm", "mpim": "group", "channel": "channel", "group": "channel"}


@dataclass(frozen=True)
class Bot:
    user_id: str
    bot_id: str

    @property
    def mention(self) -> str:
        return f"<@{self.user_id}>"


@dataclass(frozen=True)
class Policy:
    require_mention: bool = True
    strict_mention: bool = False
    free_channels: frozenset[str] = frozenset()
    allowed_channels: frozenset[str] = frozenset()
    allow_bots: str = "none"
    patterns: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class Verdict:
    addressed: bool
    mentioned: bool
    thread_id: str | None


def channel_type(event: dict[str, Any]) -> str:
    kind = str(event.get("channel_type") or "")
    if kind:
        return kind
    channel = str(event.get("channel") or "")
    return "im" if channel.startswith("D") else "channel"


def from_a_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message"


def ignored(event: dict[str, Any], bot: Bot, policy: Policy) -> str | None:
    """Why a message never reaches the hub, or None."""
    if event.get("user") == bot.user_id or (bot.bot_id and event.get("bot_id") == bot.bot_id):
        return "own message"
    if str(event.get("subtype") or "") not in SPOKEN_SUBTYPES:
        return "not a message"
    if from_a_bot(event):
        if policy.allow_bots == "none":
            return "from a bot"
        if policy.allow_bots == "mentions" and bot.mention not in str(event.get("text") or ""):
            return "from a bot, no mention"
    return None


def mentioned(text: str, bot: Bot, policy: Policy) -> bool:
    return bot.mention in text or any(p.search(text) for p in policy.patterns)


def decide(event: dict[str, Any], bot: Bot, policy: Policy, *, bot_in_thread: bool = False) -> Verdict:
    """DMs (1:1) are always addressed. Elsewhere, in an allowed channel: a free-response channel, or
    `require_mention` off, or a mention; without one, a reply in a thread the bot is in, unless
    `strict_mention` asks for a mention every time. The answer goes to the message's thread, or starts one
    on it (channel answers never land in the channel itself); a DM stays one flat conversation."""
    text = str(event.get("text") or "")
    ts = str(event.get("ts") or "")
    thread_ts = str(event.get("thread_ts") or "")
    reply = bool(thread_ts) and thread_ts != ts
    is_mentioned = mentioned(text, bot, policy)
    kind = channel_type(event)
    channel = str(event.get("channel") or "")
    if kind == "im":
        return Verdict(True, is_mentioned, thread_ts if reply else None)
    if policy.allowed_channels and channel not in policy.allowed_channels:
        addressed = False
    elif channel in policy.free_channels or not policy.require_mention or is_mentioned:
        addressed = True
    else:
        addressed = reply and bot_in_thread and not policy.strict_mention
    return Verdict(addressed, is_mentioned, thread_ts if reply else (ts if addressed else None))


def strip_mention(text: str, bot: Bot) -> str:
    return re.sub(rf"{re.escape(bot.mention)}[:,]?\s*", "", text).strip()
