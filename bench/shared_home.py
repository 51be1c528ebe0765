"""What sharing SOUL.md, memory and skills across replicas costs on PostgreSQL. Prints one JSON line.

- `turn_check_*`: the check each turn makes before its prompt (`SharedHome.refresh`) when nothing
  changed: one query for the newest revision. Wall time, and this process's CPU (both threads).
- `memory_edit_ms_median`: the agent's memory tool saving an entry (a read-modify-write in the database,
  then the file), as against a file write alone with SQLite (`memory_edit_sqlite_ms_median`).
- `edit_to_other_replica_ms_median`: replica B's turn check when replica A has just saved a memory entry:
  the query, the fetch, and the file written into B's home.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hermes.agent.memory import MemoryFiles
from hermes.agent.shared_home import SharedHome
from hermes.config import HermesPaths
from hermes.store import Store
from tests.harness.postgres_server import PostgresServer

CHECKS = 1000
EDITS = 50


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def measure(url: str, root: Path) -> dict[str, object]:
    store = await Store.open(url)
    one_paths, two_paths = HermesPaths(root / "one"), HermesPaths(root / "two")
    one, two = SharedHome(one_paths.home, store.documents), SharedHome(two_paths.home, store.documents)
    try:
        for shared in (one, two):
            await shared.start()
        wall: list[float] = []
        cpu_started = time.process_time()
        for _ in range(CHECKS):
            started = time.perf_counter()
            await two.refresh()
            wall.append(time.perf_counter() - started)
        cpu = (time.process_time() - cpu_started) / CHECKS

        memory = MemoryFiles(one_paths, shared=one)
        edits, propagation = [], []
        mirrored = two_paths.memories / "MEMORY.md"
        for i in range(EDITS):
            started = time.perf_counter()
            await memory.add("memory", f"note {i}")
            edits.append(time.perf_counter() - started)
            started = time.perf_counter()
            await two.refresh()
            propagation.append(time.perf_counter() - started)
            if f"note {i}" not in mirrored.read_text():
                raise RuntimeError("replica two did not mirror the edit")
            await memory.remove("memory", f"note {i}")
            await two.refresh()

        local = MemoryFiles(HermesPaths(root / "sqlite"))
        sqlite_edits = []
        for i in range(EDITS):
            started = time.perf_counter()
            await local.add("memory", f"note {i}")
            sqlite_edits.append(time.perf_counter() - started)
            await local.remove("memory", f"note {i}")
    finally:
        await one.close()
        await two.close()
        await store.close()
    return {
        "bench": "shared_home",
        "turn_check_ms_median": median_ms(wall),
        "turn_check_ms_p90": round(statistics.quantiles(wall, n=10)[-1] * 1000, 3),
        "turn_check_cpu_ms_mean": round(cpu * 1000, 3),
        "memory_edit_ms_median": median_ms(edits),
        "memory_edit_sqlite_ms_median": median_ms(sqlite_edits),
        "edit_to_other_replica_ms_median": median_ms(propagation),
        "checks": CHECKS,
        "edits": EDITS,
    }


def main() -> dict[str, object]:
    server = PostgresServer().start()
    try:
        url = server.create_database()
        with tempfile.TemporaryDirectory() as root:
            return asyncio.run(measure(url, Path(root)))
    finally:
        server.stop()


if __name__ == "__main__":
    print(json.dumps(main()))
