"""`python -m tests.fakes.llm --port N`: the fake as its own process, echoing unless scripted over `/_fake/`.

Prints one line `FAKE_LLM_READY http://HOST:PORT` once it listens (port 0 picks a free one), then serves until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from .remote import READY
from .server import FakeLLM
from .turns import Echo


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.llm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--instant", action="store_true", help="no simulated latency; text streams in one piece"
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each echo answer")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between streamed echo chunks")
    parser.add_argument("--no-record", action="store_true", help="count requests without keeping them")
    parser.add_argument(
        "--strict", action="store_true", help="answer unscripted requests with a 400, not an echo"
    )
    parser.add_argument("--api-key", default=None, help="require this key (401 otherwise)")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    fallback = None if args.strict else Echo(delay=args.delay, chunk_delay=args.chunk_delay)
    llm = FakeLLM(
        host=args.host,
        port=args.port,
        fallback=fallback,
        instant=args.instant,
        record=not args.no_record,
        api_key=args.api_key,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with llm:
        print(f"{READY} {llm.url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_serve(_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
