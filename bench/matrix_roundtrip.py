"""Matrix round trips against a real Synapse. Prints one JSON line.

- `client_ms`: Synapse's own client-to-client round trip — one person sends, another's sync receives it.
- `bot_ms`: a person sends to the bot in a DM until that person's sync receives the bot's first reply event.
  The bot is `hermes gateway run` in its own process; the fake LLM answers at once, in its own process.
- `replies_per_s`: 50 rooms talking to the bot at once, each sending one message; replies received per second.
- `bot_encrypted_ms`: as `bot_ms`, in an encrypted DM with a person whose client encrypts, and a second bot
  (its own `hermes gateway run`) with MATRIX_E2EE_MODE=required: decryption, encryption and the person's
  side included.

Median and p90 over 50 messages, after a warm-up. Targets: `bot_ms` median <= 2.5 x `client_ms` median (the
message crosses the homeserver twice, so 2x is the floor: the bot's own share must stay under ~10 ms);
`encrypted_over_plain` (`bot_encrypted_ms` median / `bot_ms` median) <= 1.3.
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


async def open_dm(human: MatrixHuman, bot_id: str, *, encrypted: bool = False) -> str:
    room = await human.create_room(invite=[bot_id], direct=True, encrypted=encrypted)
    await human.wait_for_membership(room, bot_id, timeout=60)
    return room


async def start_gateway(home: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATRIX_")}
    return await asyncio.create_subprocess_exec(
        HERMES,
        "gateway",
        "run",
        "-q",
        env={**env, "HERMES_HOME": str(home)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


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


def bot_home(root: Path, name: str, llm_url: str, server: SynapseServer, token: str, **env: str) -> Path:
    return write_home(
        root / name,
        config={
            "model": llm_config(llm_url),
            "logging": {"level": "WARNING"},
            # One person sends far more than the per-person limit allows a person.
            "gateway": {"user_messages_per_minute": 0},
        },
        env={
            "MATRIX_HOMESERVER": server.base_url,
            "MATRIX_ACCESS_TOKEN": token,
            "MATRIX_ALLOWED_USERS": "*",
            **env,
        },
    )


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hermes-matrix-bench-") as scratch:
        root = Path(scratch)
        server = SynapseServer(root / "synapse")
        await asyncio.to_thread(server.start)
        (root / "crypto").mkdir()
        humans = MatrixHumans(root / "crypto")
        gateways: list[asyncio.subprocess.Process] = []
        try:
            async with FakeLLMProcess("--instant", "--no-record") as llm:
                bot = await server.register(prefix="hermes")
                secret_bot = await server.register(prefix="hermes-e2ee")
                people = [await humans.new(server, prefix="person") for _ in range(PARALLEL_PEOPLE)]
                alice, bob = people[0], people[1]
                carol = await humans.new(server, encryption=True, prefix="carol")
                home = bot_home(root, "home", llm.base_url, server, bot.access_token)
                secret_home = bot_home(
                    root,
                    "secret-home",
                    llm.base_url,
                    server,
                    secret_bot.access_token,
                    MATRIX_E2EE_MODE="required",
                )
                gateways.append(await start_gateway(home))
                gateways.append(await start_gateway(secret_home))
                client = await client_round_trips(alice, bob)
                dm = await open_dm(alice, bot.user_id)
                bot_samples = await bot_round_trips(alice, dm, bot.user_id)
                secret_dm = await open_dm(carol, secret_bot.user_id, encrypted=True)
                encrypted_samples = await bot_round_trips(carol, secret_dm, secret_bot.user_id)
                rate = await parallel_rooms(people, bot.user_id)
        finally:
            for gateway in gateways:
                gateway.terminate()
                await asyncio.wait_for(gateway.wait(), 30)
            await humans.close()
            server.stop()
    client_figures, bot_figures = figures(client), figures(bot_samples)
    encrypted_figures = figures(encrypted_samples)
    print(
        json.dumps(
            {
                "samples": SAMPLES,
                "client_ms": client_figures,
                "bot_ms": bot_figures,
                "bot_over_client": round(bot_figures["median"] / client_figures["median"], 2),
                "bot_encrypted_ms": encrypted_figures,
                "encrypted_over_plain": round(encrypted_figures["median"] / bot_figures["median"], 2),
                "replies_per_s": round(rate, 1),
                "parallel_rooms": PARALLEL_ROOMS,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
