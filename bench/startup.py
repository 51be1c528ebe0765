"""Start-up cost: median wall time of `hermes --version`, and of `hermes gateway run` on a fresh
HERMES_HOME until the API server's /health answers. Prints one JSON line."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERMES = str(Path(sys.executable).with_name("hermes"))
RUNS = 21


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def time_version() -> list[float]:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([HERMES, "--version"], check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_gateway_to_health(runs: int = 7) -> list[float]:
    samples = []
    for _ in range(runs):
        home = tempfile.mkdtemp(prefix="hermes-bench-")
        port = free_port()
        # The provider is never called: start-up must not depend on reaching it.
        Path(home, "config.yaml").write_text(
            "model:\n  provider: custom\n  base_url: http://127.0.0.1:9\n  default: bench\n"
        )
        env = {
            **os.environ,
            "HERMES_HOME": home,
            "API_SERVER_ENABLED": "true",
            "API_SERVER_PORT": str(port),
            "API_SERVER_KEY": "bench-key-0123456789abcdef",
        }
        start = time.perf_counter()
        proc = subprocess.Popen(
            [HERMES, "gateway", "run", "-q"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError("the gateway exited before /health answered") from None
                    time.sleep(0.005)
            samples.append(time.perf_counter() - start)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            shutil.rmtree(home, ignore_errors=True)
    return samples


def main() -> None:
    figures: dict[str, object] = {
        "bench": "startup",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "version_median_ms": median_ms(time_version()),
        "version_target_ms": 120,
    }
    figures["gateway_to_health_median_ms"] = median_ms(time_gateway_to_health())
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
