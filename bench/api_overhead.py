"""What the API server adds to a chat completion: requests/s and p50/p99 latency at concurrency 1 and 8, for
JSON and streaming answers, through the gateway and straight to the fake LLM (the limit on this machine).
Also through the gateway: the Responses API (JSON and streaming), and a run's time to first event (from
`POST /v1/runs` to the first event read on `/v1/runs/{id}/events`).

The instant fake LLM runs in its own process, the gateway (`hermes gateway run`, the real agent; each
request opens a session) in another, and the load generator here. A third target, `server`, is the API
server and the hub alone in their own process with an agent that answers at once: the difference between
it and `gateway` is what the agent (prompt files, provider client) costs, so a miss can be pinned on the
right part. Prints one JSON line. Targets on the reference 2-core machine: p50 added latency <= 3 ms at
concurrency 1; >= 1,000 requests/s at concurrency 8 for JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.llm import FakeLLMProcess

HERMES = str(Path(sys.executable).with_name("hermes"))
KEY = "bench-key-0123456789abcdef0123456789"
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
WARMUP = 200
MESSAGES = [{"role": "user", "content": "Say hello to the benchmark."}]
READY = "STUB_SERVER_READY"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_home(llm_url: str, port: int) -> tuple[str, dict[str, str]]:
    home = tempfile.mkdtemp(prefix="hermes-bench-api-")
    Path(home, "config.yaml").write_text(
        f"model:\n  provider: custom\n  base_url: {llm_url}\n  default: fake-model\n"
        "api_server:\n  max_concurrent_runs: 64\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("API_SERVER_", "GATEWAY_"))},
        "HERMES_HOME": home,
        "API_SERVER_ENABLED": "true",
        "API_SERVER_PORT": str(port),
        "API_SERVER_KEY": KEY,
    }
    return home, env


async def wait_healthy(session: aiohttp.ClientSession, url: str, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(f"{url} exited before /health answered")
        try:
            async with session.get(f"{url}/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not answer /health within 30 s")


async def one(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], stream: bool
) -> None:
    async with session.post(url, data=body, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}: {await response.text()}")
        if stream and url.endswith("/responses"):
            await response.read()
            return
        if stream:
            async for line in response.content:
                if line.startswith(b"data: [DONE]"):
                    return
            raise RuntimeError("stream ended without [DONE]")
        await response.read()


async def measure(
    session: aiohttp.ClientSession, url: str, model: str, stream: bool, concurrency: int, auth: bool
) -> dict[str, float]:
    if url.endswith("/responses"):
        body = json.dumps({"model": model, "input": MESSAGES[0]["content"], "stream": stream}).encode()
    else:
        body = json.dumps({"model": model, "messages": MESSAGES, "stream": stream}).encode()
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Bearer {KEY}"
    for _ in range(WARMUP // concurrency):
        await asyncio.gather(*(one(session, url, body, headers, stream) for _ in range(concurrency)))
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await one(session, url, body, headers, stream)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
    }


async def run_first_event(session: aiohttp.ClientSession, url: str) -> dict[str, float]:
    """Sequential runs: the time from submitting one to reading its first event, and to its end."""
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    body = json.dumps({"input": MESSAGES[0]["content"]}).encode()
    firsts: list[float] = []
    totals: list[float] = []
    deadline = time.perf_counter() + SECONDS
    while time.perf_counter() < deadline or len(firsts) < 20:
        started = time.perf_counter()
        async with session.post(f"{url}/v1/runs", data=body, headers=headers) as response:
            run_id = (await response.json())["run_id"]
        async with session.get(f"{url}/v1/runs/{run_id}/events", headers=headers) as response:
            first = True
            async for line in response.content:
                if first and line.startswith(b"data: "):
                    firsts.append(time.perf_counter() - started)
                    first = False
        totals.append(time.perf_counter() - started)
    firsts.sort()
    return {
        "runs": len(firsts),
        "first_event_p50_ms": round(statistics.median(firsts) * 1000, 2),
        "first_event_p99_ms": round(firsts[min(len(firsts) - 1, int(len(firsts) * 0.99))] * 1000, 2),
        "complete_p50_ms": round(statistics.median(totals) * 1000, 2),
    }


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


async def main() -> dict[str, object]:
    figures: dict[str, object] = {
        "bench": "api_overhead",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "seconds_per_cell": SECONDS,
    }
    results: dict[str, dict[str, float]] = {}
    async with FakeLLMProcess("--instant", "--no-record") as llm:
        gateway_port, server_port = free_port(), free_port()
        gateway_home, gateway_env = make_home(llm.url, gateway_port)
        server_home, server_env = make_home(llm.url, server_port)
        quiet = {"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.DEVNULL}
        gateway = await asyncio.create_subprocess_exec(
            HERMES, "gateway", "run", "-q", env=gateway_env, **quiet
        )
        server = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--stub-server", env=server_env, **quiet
        )
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                targets = {
                    "gateway": (f"http://127.0.0.1:{gateway_port}", gateway),
                    "server": (f"http://127.0.0.1:{server_port}", server),
                }
                for url, proc in targets.values():
                    await wait_healthy(session, url, proc)
                cells = {
                    name: (f"{url}/v1/chat/completions", "hermes-agent", True)
                    for name, (url, _) in targets.items()
                }
                cells["fake"] = (f"{llm.base_url}/chat/completions", "fake-model", False)
                for mode in ("json", "stream"):
                    for concurrency in (1, 8):
                        for target, (url, model, auth) in cells.items():
                            results[f"{target}_{mode}_c{concurrency}"] = await measure(
                                session, url, model, mode == "stream", concurrency, auth
                            )
                gateway_url = targets["gateway"][0]
                for mode in ("json", "stream"):
                    for concurrency in (1, 8):
                        results[f"responses_{mode}_c{concurrency}"] = await measure(
                            session,
                            f"{gateway_url}/v1/responses",
                            "hermes-agent",
                            mode == "stream",
                            concurrency,
                            True,
                        )
                figures["runs"] = await run_first_event(session, gateway_url)
        finally:
            await stop(gateway)
            await stop(server)
            shutil.rmtree(gateway_home, ignore_errors=True)
            shutil.rmtree(server_home, ignore_errors=True)
    for mode in ("json", "stream"):
        row: dict[str, object] = {
            f"{target}_c{c}": results[f"{target}_{mode}_c{c}"]
            for c in (1, 8)
            for target in ("gateway", "server", "fake")
        }
        row["added_p50_ms_c1"] = round(
            results[f"gateway_{mode}_c1"]["p50_ms"] - results[f"fake_{mode}_c1"]["p50_ms"], 2
        )
        row["server_only_p50_ms_c1"] = results[f"server_{mode}_c1"]["p50_ms"]
        row["rps_ratio_c8"] = round(
            results[f"gateway_{mode}_c8"]["rps"] / results[f"fake_{mode}_c8"]["rps"], 3
        )
        figures[mode] = row
    figures["responses"] = {
        f"{mode}_c{c}": results[f"responses_{mode}_c{c}"] for mode in ("json", "stream") for c in (1, 8)
    }
    figures["targets"] = {"added_p50_ms_c1_max": 3.0, "json_rps_c8_min": 1000}
    figures["meets_targets"] = (
        figures["json"]["added_p50_ms_c1"] <= 3.0  # type: ignore[index]
        and results["gateway_json_c8"]["rps"] >= 1000
    )
    return figures


class InstantAgent:
    """An AgentPort that answers at once: what is left is the API server and the hub."""

    async def run(self, request: object, cancel: object, services: object = None) -> AsyncIterator[object]:
        from hermes.agent.contract import Final, TextDelta, Usage

        text = "Hello, benchmark."
        yield TextDelta(text)
        yield Final(text, "instant", Usage(10, 3))

    async def close(self) -> None:
        return None


async def stub_server() -> None:
    from hermes.config import load_config
    from hermes.gateway.hub import Hub, HubOptions
    from hermes.platforms.api_server import ApiServerPlatform
    from hermes.platforms.base import AccessList
    from hermes.store import Store

    config = load_config()
    store = await Store.open(config.paths.state_db)
    platform = ApiServerPlatform.create(config)
    options = HubOptions.from_settings(config.settings)
    hub = Hub(store, InstantAgent(), {platform.name: platform}, options, AccessList())  # type: ignore[arg-type]
    await platform.start(hub)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    await stopped.wait()
    await platform.stop()
    await store.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["--stub-server"]:
        asyncio.run(stub_server())
    else:
        print(json.dumps(asyncio.run(main())))
