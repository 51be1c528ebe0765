"""Server time per dashboard page with 10,000 sessions in state.db.

Prints one JSON line: per page, the median and 95th percentile of the time the server spends on a request
(a middleware measures from the request's arrival to the response being ready, so the client's time is not
counted), the time of the first request (the Metrics page keeps slots that are over, so its first load of a
range reads every message in it), and the slowest median. The home holds 10,000 sessions of 4 to 8 messages
spread over the last week (tool calls among them), 30 cron jobs, full memory files, 20 skills and a 5 MB
gateway.log. No gateway runs, so live figures are asked for and not found, as on a host where it is down.
Target on the reference machine: <= 50 ms per page.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hermes.config import load_config
from hermes.dashboard.app import create_app
from hermes.dashboard.context import Dashboard
from hermes.dashboard.security import Guard
from hermes.store import Store

SESSIONS = 10_000
JOBS = 30
SKILLS = 20
LOG_BYTES = 5 * 1024 * 1024
WARMUP = 3
ROUNDS = 25


def _fill(conn, now: float) -> str:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    # A vocabulary with a long tail, as in real chats: a few words everywhere, most words rare.
    vocabulary = [f"w{number}" for number in range(5000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    platforms = ["matrix", "mattermost", "api_server", "slack", "discord"]
    sessions, messages = [], []
    for number in range(SESSIONS):
        session_id = f"{number:016x}"
        platform = platforms[number % len(platforms)]
        started = now - rng.uniform(0, 7 * 86400)
        turns = rng.randint(2, 4)
        at = started
        for turn in range(turns):
            words = " ".join(rng.choices(vocabulary, weights, k=12))
            messages.append((session_id, "user", f"turn {turn}: {words}", None, None, None, None, at))
            at += rng.uniform(0.5, 8)
            call = json.dumps(
                [
                    {
                        "id": f"c{turn}",
                        "type": "function",
                        "function": {"name": "search_files", "arguments": '{"pattern": "x"}'},
                    }
                ]
            )
            if turn % 2:
                messages.append((session_id, "assistant", None, call, None, 900, 20, at))
                messages.append((session_id, "tool", "3 matches", None, "search_files", None, None, at))
            messages.append((session_id, "assistant", f"answer {turn}: {words}", None, None, 1200, 80, at))
        sessions.append(
            (
                session_id,
                f"{platform}:dm:user{number % 700}",
                platform,
                f"chat{number}",
                started,
                at,
                turns * 3,
            )
        )
    conn.executemany(
        "INSERT INTO sessions (id, key, platform, chat_id, created_at, updated_at, message_count, ended_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(*s, s[5]) for s in sessions],
    )
    # Stored in time order, as the gateway stores them.
    messages.sort(key=lambda message: message[-1])
    conn.executemany(
        "INSERT INTO messages (session_id, role, content, tool_calls, name, prompt_tokens, "
        "completion_tokens, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        messages,
    )
    return sessions[-1][0]


async def build_home(home: Path) -> str:
    now = time.time()
    async with await Store.open(home / "state.db") as store:
        last = await store.db.transaction(lambda conn: _fill(conn, now))
        for number in range(JOBS):
            await store.jobs.create(
                name=f"job {number}",
                schedule_kind="cron",
                schedule_value="0 9 * * 1-5",
                prompt="Summarise.",
                target="home:matrix",
                next_run_at=now + 3600 * number,
            )
    (home / "memories").mkdir()
    (home / "memories" / "MEMORY.md").write_text(("A fact worth keeping.\n§\n" * 90)[:2100])
    (home / "memories" / "USER.md").write_text(("The user likes tea.\n§\n" * 60)[:1300])
    for number in range(SKILLS):
        skill = home / "skills" / f"cat{number % 4}" / f"skill{number}"
        skill.mkdir(parents=True)
        (skill / "SKILL.md").write_text(
            f"---\nname: skill{number}\ndescription: Does thing {number}.\n---\nBody\n"
        )
    (home / "logs").mkdir()
    line = "2026-12-07 09:00:00,001 INFO hermes.platforms.matrix.sync: synced 3 rooms in 41 ms\n"
    (home / "logs" / "gateway.log").write_text(line * (LOG_BYTES // len(line)))
    return last


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hermes-bench-") as directory:
        home = Path(directory)
        session_id = await build_home(home)
        config = load_config({"HERMES_HOME": str(home)})
        app = create_app(Dashboard.create(config, tui=True), Guard(None, loopback_only=True))
        spent: list[float] = []

        @web.middleware
        async def timed(request: web.Request, handler):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return await handler(request)
            finally:
                spent.append(time.perf_counter() - started)

        app.middlewares.insert(0, timed)
        pages = {
            "overview": "/",
            "sessions": "/sessions",
            "sessions_platform_user": "/sessions?platform=matrix&user=user42",
            "sessions_search": "/sessions?q=w40+w300",
            "transcript": f"/sessions/{session_id}",
            "export_json": f"/sessions/{session_id}/export?format=json",
            "memory": "/memory",
            "cron": "/cron",
            "skills": "/skills",
            "config": "/config",
            "logs": "/logs",
            "logs_errors": "/logs?level=ERROR",
            "metrics_24h": "/metrics",
            "metrics_7d": "/metrics?range=7d",
            "chat": "/chat?session=0123456789abcdef",
        }
        figures: dict[str, dict[str, float]] = {}
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            for name, path in pages.items():
                spent.clear()
                for _ in range(WARMUP):
                    await (await client.get(path)).read()
                first = spent[0]
                spent.clear()
                for _ in range(ROUNDS):
                    response = await client.get(path)
                    await response.read()
                    assert response.status == 200, (path, response.status)
                ordered = sorted(spent)
                figures[name] = {
                    "first_ms": round(first * 1000, 2),
                    "median_ms": round(statistics.median(ordered) * 1000, 2),
                    "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
                }
    print(
        json.dumps(
            {
                "bench": "dashboard",
                "sessions": SESSIONS,
                "pages": figures,
                "slowest_median_ms": max(f["median_ms"] for f in figures.values()),
                "target_ms": 50,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
