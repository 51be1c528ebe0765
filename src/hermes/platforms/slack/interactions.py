"""Slash commands, button clicks and answering reactions, as the hub's `Inbound`: `/hermes new` is the chat
command `/new`, an approval button is the presser's "yes" or "no", a ✅ on a question its emoji."""

from __future__ import annotations

import time
from typing import Any

from hermes.platforms.base import ChatKind, ChatRef, Inbound
from hermes.platforms.slack.addressing import PLATFORM

# The approval buttons (see outbound.approval_blocks) answer as the words the hub's approvals read.
APPROVAL_ACTIONS = {"hermes_approve": "yes", "hermes_deny": "no"}
# Slack names reactions; the hub's approvals read the emoji (the question offers ✅/❌).
ANSWER_REACTIONS = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✅",
    "x": "❌",
    "+1": "👍",
    "thumbsup": "👍",
    "-1": "👎",
    "thumbsdown": "👎",
}


def command_text(command: str, text: str) -> str:
    """`/hermes new` is the hub's `/new`; `/hermes` alone asks for help; any other native slash command
    (declared in the app manifest, e.g. `/new`) is the command of that name."""
    words = text.strip()
    if command.lstrip("/").lower() == "hermes":
        return "/" + (words.lstrip("/!") if words else "help")
    return f"{command} {words}".strip()


def _kind(channel: str) -> ChatKind:
    return "dm" if channel.startswith("D") else "channel"


def slash_inbound(payload: dict[str, Any]) -> Inbound:
    """A slash command is about the conversation it was typed in: never a thread (Slack refuses native
    slash commands inside threads), always addressed."""
    channel = str(payload.get("channel_id") or "")
    user = str(payload.get("user_id") or "")
    trigger = str(payload.get("trigger_id") or f"{channel}:{time.time()}")
    return Inbound(
        event_id=f"slash:{trigger}",
        chat=ChatRef(PLATFORM, channel, _kind(channel)),
        sender_id=user,
        sender_name=str(payload.get("user_name") or user),
        text=command_text(str(payload.get("command") or ""), str(payload.get("text") or "")),
        addressed=True,
        sent_at=time.time(),
    )


def action_inbounds(payload: dict[str, Any]) -> list[Inbound]:
    """Approval buttons pressed: the presser's "yes" or "no" in the question's chat and thread. Not
    addressed, so that it answers the question of whoever was asked and nothing else: a click by someone
    else, or after the question expired, goes no further than the hub's approvals."""
    if payload.get("type") != "block_actions":
        return []
    container = payload.get("container") or {}
    person = payload.get("user") or {}
    user = str(person.get("id") or "")
    channel = str(container.get("channel_id") or (payload.get("channel") or {}).get("id") or "")
    if not channel or not user:
        return []
    found = []
    for action in payload.get("actions") or []:
        word = APPROVAL_ACTIONS.get(str(action.get("action_id")))
        if word is None:
            continue
        stamp = str(action.get("action_ts") or time.time())
        found.append(
            Inbound(
                event_id=f"action:{channel}:{container.get('message_ts')}:{user}:{stamp}",
                chat=ChatRef(PLATFORM, channel, _kind(channel), container.get("thread_ts") or None),
                sender_id=user,
                sender_name=str(person.get("username") or user),
                text=word,
                addressed=False,
                sent_at=time.time(),
            )
        )
    return found


def reaction_inbound(event: dict[str, Any], chat: ChatRef | None) -> Inbound | None:
    """A ✅/❌ (👍/👎) added to one of the bot's messages, `chat` being where that message is (None for a
    message that is not the bot's): the reacting person's emoji, not addressed, for the hub's approvals
    to take as the answer to that very question, or drop."""
    item = event.get("item") or {}
    emoji = ANSWER_REACTIONS.get(str(event.get("reaction") or "").split("::")[0])
    user = str(event.get("user") or "")
    if emoji is None or chat is None or item.get("type") != "message" or not user:
        return None
    ts = str(item.get("ts") or "")
    return Inbound(
        event_id=f"reaction:{chat.chat_id}:{ts}:{user}:{event.get('reaction')}",
        chat=chat,
        sender_id=user,
        sender_name=user,
        text=emoji,
        addressed=False,
        sent_at=float(event.get("event_ts") or time.time()),
        reaction_to=ts,
    )
