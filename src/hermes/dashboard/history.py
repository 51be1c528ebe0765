"""The Metrics page's figures over time, read from the transcripts in state.db.

Why the transcripts and not a table of their own: every run already leaves its question (a user message,
stored when the run starts) and its answer (the final assistant message, with the tokens it cost) there, with
their times. So the history survives restarts, covers the time before the dashboard first ran, costs the
gateway no extra write per run, and stays right after `hermes sessions rm` (a deleted session leaves the
plots too). Latency is the time from a question to the answer that ends its run.
"""

from __future__ import annotations

from dataclasses import dataclass

from hermes.store.connection import Connection
from hermes.store.dialect import SQLITE, Dialect

RANGES = {"1h": (3600, 12), "24h": (86400, 24), "7d": (7 * 86400, 28)}

# One pass over the window's messages (a range of the primary key, found below), plus one index lookup per
# answer for its question. A window function over the same rows sorts them all: 4x slower on a busy week.
# Written for both store engines; the bucket's rounding down is the one part spelled per engine.
_QUERY = """
SELECT {bucket} AS bucket,
    sum(CASE WHEN m.role = 'user' THEN 1 ELSE 0 END),
    sum(CASE WHEN m.role = 'assistant' AND m.tool_calls IS NULL THEN 1 ELSE 0 END),
    coalesce(sum(m.prompt_tokens), 0),
    coalesce(sum(m.completion_tokens), 0),
    avg(CASE WHEN m.role = 'assistant' AND m.tool_calls IS NULL THEN m.created_at - (
        SELECT q.created_at FROM messages AS q
        WHERE q.session_id = m.session_id AND q.id < m.id AND q.role = 'user' ORDER BY q.id DESC LIMIT 1
    ) END),
    max(CASE WHEN m.role = 'assistant' AND m.tool_calls IS NULL THEN m.created_at - (
        SELECT q.created_at FROM messages AS q
        WHERE q.session_id = m.session_id AND q.id < m.id AND q.role = 'user' ORDER BY q.id DESC LIMIT 1
    ) END)
FROM messages AS m WHERE m.id >= ? AND m.created_at >= ? AND m.created_at < ?
GROUP BY bucket
"""


def first_id_since(conn: Connection, since: float) -> int:
    """The first message at or after `since`, by bisecting the ids: messages are stored in time order
    (ids only grow, times come from the clock at insert), and there is no index on the time."""
    low: int
    high: int
    low, high = conn.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM messages").fetchone()
    while low < high:
        middle = (low + high) // 2
        row = conn.execute(
            "SELECT id, created_at FROM messages WHERE id >= ? ORDER BY id LIMIT 1", (middle,)
        ).fetchone()
        if row[1] >= since:
            high = middle
        else:
            low = row[0] + 1
    return low


@dataclass(frozen=True)
class History:
    since: float
    step: float
    requests: list[int]
    runs: list[int]
    prompt_tokens: list[int]
    completion_tokens: list[int]
    latency_avg: list[float | None]
    latency_max: list[float | None]

    @property
    def times(self) -> list[float]:
        return [self.since + self.step * i for i in range(len(self.requests))]


Slot = tuple[int, int, int, int, float | None, float | None]
_EMPTY: Slot = (0, 0, 0, 0, None, None)
# A slot that ended this long ago gets no more messages (a run's answer is stored when the run ends).
SETTLED_SECONDS = 600.0


class HistoryCache:
    """Slots that are over, so a reload reads only the newest: a week of a busy agent is 80,000 messages.
    Emptied whenever messages were removed (a deleted session, an /undo), so the plots never show them."""

    def __init__(self) -> None:
        self.slots: dict[tuple[float, float], Slot] = {}
        self._stamp = (0, 0)

    def check(self, conn: Connection, now: float) -> None:
        count, top = conn.execute("SELECT count(*), coalesce(max(id), 0) FROM messages").fetchone()
        old_count, old_top = self._stamp
        # Without removals, the count grows exactly as the highest id does (ids are never reused).
        if count < old_count or count - old_count != top - old_top:
            self.slots.clear()
        self._stamp = (count, top)
        oldest = now - max(seconds for seconds, _ in RANGES.values()) - SETTLED_SECONDS
        for key in [key for key in self.slots if key[1] < oldest]:
            del self.slots[key]


def read_history(
    conn: Connection, now: float, span: str, cache: HistoryCache | None = None, dialect: Dialect = SQLITE
) -> History:
    seconds, buckets = RANGES[span]
    step = seconds / buckets
    # Slot edges on whole steps, so a reload a few seconds later shows the same bars.
    until = (now // step + 1) * step
    since = until - seconds
    starts = [since + step * index for index in range(buckets)]
    slots: dict[float, Slot] = {}
    if cache is not None:
        cache.check(conn, now)
        slots = {start: cache.slots[(step, start)] for start in starts if (step, start) in cache.slots}
    missing = [start for start in starts if start not in slots]
    if missing:
        first = missing[0]
        query = _QUERY.format(bucket=dialect.floor_int.format("(m.created_at - ?) / ?"))
        for bucket, *figures in conn.execute(query, (first, step, first_id_since(conn, first), first, until)):
            start = first + step * bucket
            if start in missing:
                slots[start] = tuple(figures)
        for start in missing:
            slots.setdefault(start, _EMPTY)
            if cache is not None and start + step <= now - SETTLED_SECONDS:
                cache.slots[(step, start)] = slots[start]
    ordered = [slots[start] for start in starts]
    return History(
        since,
        step,
        [slot[0] for slot in ordered],
        [slot[1] for slot in ordered],
        [slot[2] for slot in ordered],
        [slot[3] for slot in ordered],
        [slot[4] for slot in ordered],
        [slot[5] for slot in ordered],
    )
