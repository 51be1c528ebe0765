"""Replicas sharing PostgreSQL. Prints one JSON line.

- `api_rps`: stateful chat completions per second at concurrency 8 (each worker its own session, so every
  request reads and writes a transcript), spread round-robin over the replicas: one replica on SQLite, one
  on PostgreSQL, two on PostgreSQL. Each replica is `hermes gateway run` in its own process; the fake LLM
  answers at once in another. On this 2-core machine the replicas share the cores with PostgreSQL and the
  load generator, so a second replica shows what sharing costs rather than what a second host would add.
- `failover_s`: two replicas hold Mattermost (the emulator) through a lease of `LEASE_SECONDS`; the holder
  is SIGKILLed and a DM is posted at once. Seconds from the kill until the standby's reply is posted.
  Median (and the spread) of 5.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.llm import FakeLLMProcess
from tests.fakes.mattermost import Channel, MattermostEmulator
from tests.harness.gateway import HERMES, llm_config, write_home
from tests.harness.postgres_server import PostgresServer
from tests.harness.synapse_server import free_port

KEY = "bench-key-0123456789abcdef0123456789"
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
CONCURRENCY = 8
LEASE_SECONDS = 3.0
FAILOVERS = 5


def environment(home: Path, **extra: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("API_SERVER_", "MATTERMOST_", "HERMES_"))
    }
    return {**keep, "HERMES_HOME": str(home), **extra}


async def start(home: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`hermes gateway run`, its console in `home/console.log`."""
    with (home / "console.log").open("ab") as log:
        return await asyncio.create_subprocess_exec(
            HERMES, "gateway", "run", env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )


async def logged(home: Path, text: str, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if text in (home / "console.log").read_text(errors="replace"):
                return
            await asyncio.sleep(0.05)


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


async def healthy(session: aiohttp.ClientSession, url: str) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                async with session.get(f"{url}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)


async def api_rps(llm_url: str, root: Path, database: str | None, replicas: int) -> float:
    ports = [free_port() for _ in range(replicas)]
    procs = []
    for index, port in enumerate(ports):
        home = write_home(
            root / f"api-{database is not None}-{replicas}-{index}", config={"model": llm_config(llm_url)}
        )
        extra = {"API_SERVER_ENABLED": "true", "API_SERVER_PORT": str(port), "API_SERVER_KEY": KEY}
        if database is not None:
            extra["HERMES_DATABASE_URL"] = database
        procs.append(await start(home, environment(home, **extra)))
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        async with aiohttp.ClientSession() as session:
            for url in urls:
                await healthy(session, url)
            done = 0

            async def worker(number: int) -> None:
                nonlocal done
                headers = {"Authorization": f"Bearer {KEY}", "X-Hermes-Session-Id": f"bench-{number}"}
                request = 0
                while time.perf_counter() < deadline:
                    body = {
                        "model": "hermes-agent",
                        "messages": [{"role": "user", "content": f"turn {request}"}],
                    }
                    url = urls[(number + request) % len(urls)]
                    async with session.post(
                        f"{url}/v1/chat/completions", json=body, headers=headers
                    ) as response:
                        if response.status != 200:
                            raise RuntimeError(f"{url} answered {response.status}: {await response.text()}")
                        await response.read()
                    request += 1
                    done += 1

            deadline = time.perf_counter() + 1.0
            await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
            done = 0
            started = time.perf_counter()
            deadline = started + SECONDS
            await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
            return round(done / (time.perf_counter() - started), 1)
    finally:
        await asyncio.gather(*(stop(proc) for proc in procs))


async def failover_once(llm_url: str, root: Path, database: str) -> float:
    async with MattermostEmulator() as mm:
        bot, token = mm.create_bot("hermes")
        alice = mm.create_user("alice")
        dm = mm.direct_channel(alice, bot)
        homes = []
        for name in ("holder", "standby"):
            home = write_home(
                root / name,
                config={"model": llm_config(llm_url), "store": {"lease_seconds": LEASE_SECONDS}},
                env={
                    "MATTERMOST_URL": mm.url,
                    "MATTERMOST_TOKEN": token,
                    "MATTERMOST_ALLOWED_USERS": alice.id,
                    "HERMES_DATABASE_URL": database,
                },
            )
            homes.append(home)
        holder = await start(homes[0], environment(homes[0]))
        standby = None
        try:
            await logged(homes[0], "mattermost: connected")
            await mm.post_as(alice, dm, "warm up")
            await replied(mm, dm, bot.id, 1, timeout=60)
            standby = await start(homes[1], environment(homes[1]))
            await logged(homes[1], "platforms are shared through leases")
            killed = time.perf_counter()
            holder.send_signal(signal.SIGKILL)
            await holder.wait()
            await mm.post_as(alice, dm, "are you there?")
            await replied(mm, dm, bot.id, 2, timeout=60)
            return time.perf_counter() - killed
        finally:
            await stop(holder)
            if standby is not None:
                await stop(standby)


async def replied(mm: MattermostEmulator, dm: Channel, bot_id: str, count: int, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if len([p for p in mm.posts_in(dm) if p.user_id == bot_id]) >= count:
                return
            await asyncio.sleep(0.02)


async def main() -> dict[str, object]:
    server = PostgresServer().start()
    root = Path(tempfile.mkdtemp(prefix="hermes-bench-replicas-"))
    try:
        async with FakeLLMProcess("--instant", "--no-record") as llm:
            api = {
                "sqlite_1": await api_rps(llm.url, root, None, 1),
                "postgresql_1": await api_rps(llm.url, root, server.create_database(), 1),
                "postgresql_2": await api_rps(llm.url, root, server.create_database(), 2),
            }
            takeovers = []
            for attempt in range(FAILOVERS):
                takeovers.append(
                    await failover_once(llm.url, root / f"failover-{attempt}", server.create_database())
                )
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return {
        "bench": "replicas",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "api_rps": api,
        "concurrency": CONCURRENCY,
        "lease_seconds": LEASE_SECONDS,
        "failover_s": {
            "median": round(statistics.median(takeovers), 2),
            "min": round(min(takeovers), 2),
            "max": round(max(takeovers), 2),
        },
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
