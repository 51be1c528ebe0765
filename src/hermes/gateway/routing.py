"""Session keys: which conversation a message belongs to. Keys are plain strings, stable across restarts."""

from __future__ import annotations

from dataclasses import dataclass

from hermes.platforms.base import ChatRef


@dataclass(frozen=True)
class RoutingPolicy:
    group_sessions_per_user: bool = True
    thread_sessions_per_user: bool = False


def session_key(chat: ChatRef, sender_id: str, policy: RoutingPolicy) -> str:
    """DMs: one session per DM, and per thread inside it. Groups and channels: one per chat and per thread;
    per user as well when the policy says so (outside threads `group_sessions_per_user`, inside them
    `thread_sessions_per_user`, since a thread is usually one shared conversation)."""
    key = f"{chat.platform}:{chat.kind}:{chat.chat_id}"
    if chat.thread_id:
        key += f":thread:{chat.thread_id}"
    if chat.kind == "dm":
        return key
    per_user = policy.thread_sessions_per_user if chat.thread_id else policy.group_sessions_per_user
    if per_user:
        key += f":user:{sender_id}"
    return key
