"""Which session a resent history continues. Chat UIs send no session id: each request carries the whole
conversation so far. After each answer the exchange (its history, the question, the answer) is
remembered under a digest, so the next request whose history is exactly that exchange continues the same
session instead of opening a new one with a copy of everything: one session per conversation, not one
per message, and a transcript that grows by one exchange per request. A history that differs (an edited
or regenerated message) matches nothing and opens its own session, which is the branch the client made.

In memory and bounded: after a restart, or for a history older than the last `max_entries` answers, a
resent history opens a new session seeded with it, as before.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence

from hermes.agent.contract import ChatMessage


def digest(caller: str, messages: Sequence[ChatMessage]) -> str:
    hasher = hashlib.sha256(caller.encode())
    for message in messages:
        if message.role == "system":
            continue
        images = [hashlib.sha256(image.data).hexdigest() for image in message.images]
        fields = [message.role, message.content or "", message.tool_call_id, list(message.tool_calls), images]
        hasher.update(json.dumps(fields, sort_keys=True, default=str).encode())
    return hasher.hexdigest()


class Continuations:
    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._sessions: OrderedDict[str, str] = OrderedDict()
        self._latest: dict[str, str] = {}

    def find(self, caller: str, history: Sequence[ChatMessage]) -> str | None:
        """The session whose last exchange is exactly `history`, if one is remembered."""
        if not any(message.role != "system" for message in history):
            return None
        return self._sessions.get(digest(caller, history))

    def remember(self, caller: str, exchange: Sequence[ChatMessage], session_id: str) -> None:
        """`exchange` (the history, the question, the answer) is now the end of `session_id`."""
        self.forget(session_id)
        key = digest(caller, exchange)
        self._sessions[key] = session_id
        self._latest[session_id] = key
        while len(self._sessions) > self.max_entries:
            _, old = self._sessions.popitem(last=False)
            self._latest.pop(old, None)

    def forget(self, session_id: str) -> None:
        """The session went on in another way (a request naming it): its old exchange no longer ends it."""
        key = self._latest.pop(session_id, None)
        if key is not None:
            self._sessions.pop(key, None)
