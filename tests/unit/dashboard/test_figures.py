"""The Metrics page's history, its SVG charts, and the log reader."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from hermes.dashboard import logfile
from hermes.dashboard.history import HistoryCache, read_history
from hermes.dashboard.svg import Series, chart
from hermes.store import NewMessage, Store

HOUR = 3600.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_history_counts_requests_runs_tokens_and_latency_per_slot(
    tmp_path: Path, database_url: str | None
) -> None:
    now = 1_800_000_000.0 - 1800  # in the middle of an hour slot
    clock = Clock(now - 2 * HOUR)
    async with await Store.open(database_url or tmp_path / "state.db", clock=clock) as store:
        dialect = store.db.dialect
        session = await store.sessions.get_or_create("k", platform="matrix", chat_id="!r")
        await store.sessions.append(session.id, [NewMessage("user", "q1")])
        clock.now += 4
        await store.sessions.append(
            session.id,
            [
                NewMessage(
                    "assistant",
                    None,
                    tool_calls=[{"id": "c", "function": {"name": "t", "arguments": "{}"}}],
                    prompt_tokens=100,
                    completion_tokens=5,
                ),
                NewMessage("tool", "ok", tool_call_id="c"),
            ],
        )
        clock.now += 2
        await store.sessions.append(
            session.id, [NewMessage("assistant", "a1", prompt_tokens=120, completion_tokens=10)]
        )
        clock.now = now - 60
        await store.sessions.append(session.id, [NewMessage("user", "q2")])
        clock.now += 1
        await store.sessions.append(
            session.id, [NewMessage("assistant", "a2", prompt_tokens=50, completion_tokens=3)]
        )
        clock.now = now - 30 * 86400  # outside every range
        await store.sessions.append(session.id, [NewMessage("user", "old")])
        history = await store.db.run(lambda conn: read_history(conn, now, "24h", None, dialect))
        cache = HistoryCache()
        for _ in range(2):  # filled, then read from the cache: the same figures
            assert await store.db.run(lambda conn: read_history(conn, now, "24h", cache, dialect)) == history
        assert cache.slots
        await store.sessions.delete(session.id)
        emptied = await store.db.run(lambda conn: read_history(conn, now, "24h", cache, dialect))
    assert sum(emptied.requests) == 0 and sum(emptied.prompt_tokens) == 0
    assert len(history.requests) == 24
    assert sum(history.requests) == 2 and sum(history.runs) == 2
    assert history.requests[-3:] == [1, 0, 1]
    assert history.prompt_tokens[-3] == 220 and history.completion_tokens[-3] == 15
    assert history.latency_avg[-3] == 6.0 and history.latency_avg[-1] == 1.0
    assert history.latency_avg[-2] is None
    assert history.times[-1] <= now < history.times[-1] + history.step


def test_a_chart_is_valid_svg_with_escaped_labels() -> None:
    svg = chart(
        "Requests <&>",
        [0.0, 3600.0, 7200.0],
        [Series("a<b", [1, None, 3], "s1"), Series("c", [None, None, None], "s2")],
        kind="line",
    )
    root = ET.fromstring(str(svg))
    assert root.tag.endswith("svg")
    assert "Requests <&>" in "".join(root.itertext())
    bars = chart("t", [0.0, 1.0], [Series("x", [0, 5], "s1")])
    assert str(bars).count('<rect class="s1"') == 2  # one bar (zero draws none) and the legend


def test_log_records_keep_their_tracebacks_and_filter_by_level_and_platform(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    log.write_text(
        "partial line from before the tail\n"
        "2026-12-07 09:00:00,001 INFO hermes.platforms.slack.socket: hello\n"
        "2026-12-07 09:00:01,001 ERROR hermes.gateway.hub: run failed\n"
        "Traceback (most recent call last):\n"
        "2026-12-07 09:00:02,001 WARNING hermes.platforms.matrix.sync: slow\n"
        "half a line being writ"
    )
    lines, inode, offset = logfile.tail(log, size=log.stat().st_size - 5)
    records = logfile.parse(lines)
    assert [r.level for r in records] == ["INFO", "ERROR", "WARNING"]
    assert records[1].text.endswith("run failed\nTraceback (most recent call last):")
    assert [r.platform for r in records] == ["slack", None, "matrix"]
    assert [r.level for r in records if logfile.keep(r, "WARNING", None)] == ["ERROR", "WARNING"]
    assert [r.level for r in records if logfile.keep(r, None, "matrix")] == ["WARNING"]
    with log.open("a") as handle:
        handle.write("ten\n2026-12-07 09:00:03,001 INFO hermes.x: next\n")
    new, inode, offset = logfile.read_new(log, inode, offset)
    assert new == ["half a line being written", "2026-12-07 09:00:03,001 INFO hermes.x: next"]
    log.rename(tmp_path / "gateway.log.1")
    log.write_text("2026-12-07 09:00:04,001 INFO hermes.x: after rotation\n")
    new, _, _ = logfile.read_new(log, inode, offset)
    assert new == ["2026-12-07 09:00:04,001 INFO hermes.x: after rotation"]
