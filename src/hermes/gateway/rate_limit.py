"""How many messages one person may send the bot per minute on a chat platform.

Counted by the messages' own timestamps (the server's), not by when they arrive: a backlog delivered at
once after a restart is as fast as it was written. Over the limit a message is not answered; the sender is
told once per minute.
"""

from __future__ import annotations

from collections import deque

WINDOW_SECONDS = 60.0
# People tracked at once; the oldest are forgotten first (a flood of ids cannot grow memory without end).
_MAX_SENDERS = 10_000


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._sent: dict[tuple[str, str], deque[float]] = {}
        self._told: dict[tuple[str, str], float] = {}

    def allow(self, platform: str, user_id: str, sent_at: float) -> bool:
        """Counts the message; False when it is one too many in the minute before it."""
        if self.per_minute <= 0:
            return True
        key = (platform, user_id)
        times = self._sent.pop(key, None) or deque()
        self._sent[key] = times  # most recently active last, for the forgetting below
        while times and times[0] <= sent_at - WINDOW_SECONDS:
            times.popleft()
        if len(self._sent) > _MAX_SENDERS:
            oldest = next(iter(self._sent))
            del self._sent[oldest]
            self._told.pop(oldest, None)
        if len(times) >= self.per_minute:
            return False
        times.append(sent_at)
        return True

    def should_tell(self, platform: str, user_id: str, sent_at: float) -> bool:
        """Once per minute per person: whether to tell them they are being held back."""
        key = (platform, user_id)
        last = self._told.get(key)
        if last is not None and sent_at - last < WINDOW_SECONDS:
            return False
        self._told[key] = sent_at
        return True
