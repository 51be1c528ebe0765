"""Web API rate limits: per method (and, for chat.postMessage, per channel) in one-minute windows.

The documented tiers are minimums ("Tier 3: 50+ per minute"), so by default the emulator enforces nothing
and a test turns the tiers on (`limits.enforce(...)`) or scripts single 429s (`limits.next_429(...)`).
Over the limit the answer is HTTP 429, `Retry-After: <seconds>` and `{"ok": false, "error": "ratelimited"}`.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

# Tiers from the methods' reference pages (rate-limits page for the figures).
TIERS: dict[str, int | str] = {
    "apps.connections.open": 1,
    "auth.test": "special",
    "chat.postMessage": "special",
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "chat.delete": 3,
    "reactions.add": 3,
    "reactions.remove": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.info": 3,
    "users.conversations": 3,
    "users.info": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "files.info": 4,
    "assistant.threads.setStatus": 3,
}
PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
# chat.postMessage: about one message per second per channel, short bursts allowed.
POST_PER_MINUTE_PER_CHANNEL = 60
WINDOW = 60.0


@dataclass
class RateLimits:
    enforced: bool = False
    per_minute: dict[int, int] = field(default_factory=lambda: dict(PER_MINUTE))
    post_per_channel: int = POST_PER_MINUTE_PER_CHANNEL
    _seen: dict[tuple[str, str], deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _scripted: dict[str, list[int]] = field(default_factory=dict)

    def enforce(self, per_minute: dict[int, int] | None = None, post_per_channel: int | None = None) -> None:
        self.enforced = True
        if per_minute:
            self.per_minute.update(per_minute)
        if post_per_channel is not None:
            self.post_per_channel = post_per_channel

    def next_429(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` get a 429 with this `Retry-After`, whatever the tier."""
        self._scripted.setdefault(method, []).extend([retry_after] * times)

    def check(self, method: str, channel: str | None) -> int | None:
        """Count one call; the Retry-After seconds when it is refused, else None."""
        scripted = self._scripted.get(method)
        if scripted:
            return scripted.pop(0)
        if not self.enforced:
            return None
        tier = TIERS.get(method, 3)
        if method == "chat.postMessage":
            key, limit = (method, channel or ""), self.post_per_channel
        elif tier == "special":
            return None
        else:
            key, limit = (method, ""), self.per_minute[int(tier)]
        now = time.monotonic()
        seen = self._seen[key]
        while seen and now - seen[0] >= WINDOW:
            seen.popleft()
        if len(seen) >= limit:
            return max(1, math.ceil(WINDOW - (now - seen[0])))
        seen.append(now)
        return None
