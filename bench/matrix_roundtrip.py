"""Matrix round trips against a real Synapse. Prints one JSON line.

- `client_ms`: Synapse's own client-to-client round trip — one person sends, another's sync receives it.
- `bot_ms`: a person sends to the bot in a DM until that person's sync receives the bot's first reply event.
  The bot is `hermes gateway run` in its own process; the fake LLM answers at once, in its own process.
- `replies_per_s`: 50 rooms talking to the bot at once, each sending one message; replies received per second.

Median and p90 over 50 messages, after a warm-up. Target: `bot_ms` median <= 2.5 x `client_ms` median (the
message crosses the homeserver twice, so 2x is the floor: the bot's own share must stay under ~10 ms).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.llm import FakeLLMProcess
from tests.harness.gateway import HERMES, llm_config, write_home
from tests.harness.matrix_user import MatrixHuman, MatrixHumans
from tests.harness.synapse_server import SynapseServer

SAMPLES = 50
WARMUP = 5
PARALLEL_ROOMS = 50
PARALLEL_PEOPLE = 10
PARALLEL_ROUNDS = 3


def figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered) * 1000, 1), "p90": round(p90 * 1000, 1)}


async def client_round_trips(alice: MatrixHuman, bob: MatrixHuman) -> list[float]:
    room = await alice.create_room(invite=[bob.user_id])
    await bob.wait_for_invite(lambda invite: invite.room_id == room)
    await bob.join(room)
    await alice.wait_for_membership(room, bob.user_id)
    samples = []
    for index in range(WARMUP + SAMPLES):
        started = time.perf_counter()
        sent = await alice.send_text(room, f"ping {index}")
        await bob.wait_for_message(room, lambda event, sent=sent: event.event_id == sent)
        samples.append(time.perf_counter() - started)
    return samples[WARMUP:]


async def bot_round_trips(alice: MatrixHuman, room: str, bot_id: str) -> list[float]:
    samples = []
    for index in range(WARMUP + SAMPLES):
        started = time.perf_counter()
        sent = await alice.send_text(room, f"question {index}")
        await alice.wait_for_message(room, after=sent, sender=bot_id)
        samples.append(time.perf_counter() - started)
    return samples[WARMUP:]


async def open_dm(human: MatrixHuman, bot_id: str) -> str:
    room = await human.create_room(invite=[bot_id], direct=True)
    await human.wait_for_membership(room, bot_id, timeout=60)
    return room


async def parallel_rooms(people: list[MatrixHuman], bot_id: str) -> float:
    per_person = PARALLEL_ROOMS // len(people)
    rooms = [
        (person, room)
        for person, opened in zip(
            people,
            await asyncio.gather(
                *(asyncio.gather(*(open_dm(p, bot_id) for _ in range(per_person))) for p in people)
            ),
            strict=True,
        )
        for room in opened
    ]

    async def one(person: MatrixHuman, room: str, index: int) -> None:
        sent = await person.send_text(room, f"round {index}")
        await person.wait_for_message(room, after=sent, sender=bot_id, timeout=60)

    for warmup in range(1):
        await asyncio.gather(*(one(person, room, -1 - warmup) for person, room in rooms))
    started = time.perf_counter()
    for index in range(PARALLEL_ROUNDS):
        await asyncio.gather(*(one(person, room, index) for person, room in rooms))
    return len(rooms) * PARALLEL_ROUNDS / (time.perf_counter() - started)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hermes-matrix-bench-") as scratch:
        root = Path(scratch)
        server = SynapseServer(root / "synapse")
        await asyncio.to_thread(server.start)
        humans = MatrixHumans(root / "crypto")
        gateway: asyncio.subprocess.Process | None = None
        try:
            async with FakeLLMProcess("--instant", "--no-record") as llm:
                bot = await server.register(prefix="hermes")
                people = [await humans.new(server, prefix="person") for _ in range(PARALLEL_PEOPLE)]
                alice, bob = people[0], people[1]
                home = write_home(
                    root / "home",
                    config={"model": llm_config(llm.base_url), "logging": {"level": "WARNING"}},
                    env={
                        "MATRIX_HOMESERVER": server.base_url,
                        "MATRIX_ACCESS_TOKEN": bot.access_token,
                        "MATRIX_ALLOWED_USERS": "*",
                    },
                )
                env = {k: v for k, v in os.environ.items() if not k.startswith("MATRIX_")}
                gateway = await asyncio.create_subprocess_exec(
                    HERMES,
                    "gateway",
                    "run",
                    "-q",
                    env={**env, "HERMES_HOME": str(home)},
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                client = await client_round_trips(alice, bob)
                dm = await open_dm(alice, bot.user_id)
                bot_samples = await bot_round_trips(alice, dm, bot.user_id)
                rate = await parallel_rooms(people, bot.user_id)
        finally:
            if gateway is not None:
                gateway.terminate()
                await asyncio.wait_for(gateway.wait(), 30)
            await humans.close()
            server.stop()
    client_figures, bot_figures = figures(client), figures(bot_samples)
    print(
        json.dumps(
            {
                "samples": SAMPLES,
                "client_ms": client_figures,
                "bot_ms": bot_figures,
                "bot_over_client": round(bot_figures["median"] / client_figures["median"], 2),
                "replies_per_s": round(rate, 1),
                "parallel_rooms": PARALLEL_ROOMS,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
