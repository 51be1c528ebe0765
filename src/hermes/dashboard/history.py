"""The Metrics page's figures over time, read from the transcripts in state.db.

Why the transcripts and not a table of their own: every run already leaves its question (a user message,
stored when the run starts) and its answer (the final assistant message, with the tokens it cost) there, with
their times. So the history survives restarts, covers the time before the dashboard first ran, costs the
gateway no extra write per run, and stays right after `hermes sessions rm` (a deleted session leaves the
plots too). Latency is the time from a question to the answer that ends its run.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

RANGES = {"1h": (3600, 12), "24h": (86400, 24), "7d": (7 * 86400, 28)}

_QUERY = """
WITH recent AS (
    SELECT created_at, role, tool_calls, prompt_tokens, completion_tokens,
        max(CASE WHEN role = 'user' THEN created_at END)
            OVER (PARTITION BY session_id ORDER BY id ROWS UNBOUNDED PRECEDING) AS asked_at
    FROM messages WHERE created_at >= :since AND created_at < :until
)
SELECT CAST((created_at - :since) / :step AS INTEGER) AS bucket,
    sum(role = 'user'),
    sum(role = 'assistant' AND tool_calls IS NULL),
    coalesce(sum(prompt_tokens), 0),
    coalesce(sum(completion_tokens), 0),
    avg(CASE WHEN role = 'assistant' AND tool_calls IS NULL THEN created_at - asked_at END),
    max(CASE WHEN role = 'assistant' AND tool_calls IS NULL THEN created_at - asked_at END)
FROM recent GROUP BY bucket
"""


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


def read_history(conn: sqlite3.Connection, now: float, span: str) -> History:
    seconds, buckets = RANGES[span]
    step = seconds / buckets
    # Bucket edges on whole steps, so a reload a few seconds later shows the same bars.
    until = (now // step + 1) * step
    since = until - seconds
    empty = History(
        since,
        step,
        [0] * buckets,
        [0] * buckets,
        [0] * buckets,
        [0] * buckets,
        [None] * buckets,
        [None] * buckets,
    )
    for bucket, requests, runs, prompt, completion, avg, peak in conn.execute(
        _QUERY, {"since": since, "until": until, "step": step}
    ):
        if 0 <= bucket < buckets:
            empty.requests[bucket] = requests
            empty.runs[bucket] = runs
            empty.prompt_tokens[bucket] = prompt
            empty.completion_tokens[bucket] = completion
            empty.latency_avg[bucket] = avg
            empty.latency_max[bucket] = peak
    return empty
