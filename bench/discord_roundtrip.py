"""Discord round trips against the emulator. Prints one JSON line.

- `emulator_ms`: the emulator's own trip — a person posts over REST (`POST /channels/{id}/messages` with
  their token) until a Gateway session of the bot receives the MESSAGE_CREATE.
- `bot_ms`: a person posts in a DM with the bot over REST, until the emulator creates the bot's reply
  (seen in-process, as it happens). The bot is `hermes gateway run` in its own process, with its default
  👀/✅ reactions and typing; the fake LLM answers at once, in its own process.
- `bot_share_ms`: `bot_ms` minus one emulator trip (the question reaching the bot): what the bot itself
  adds, its model call and its reply's REST call on loopback included. Target: <= 10 ms.
- `replies_per_s`: 50 channels (DMs of 50 people) writing to the bot at once, one message each per
  round; replies created per second.

Discord's per-channel limit (5 messages per 5 s) is switched off in the emulator here: it would measure
the limit, not the bot. Median and p90 over 50 messages, after a warm-up.
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

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.discord import Channel, DiscordEmulator, User
from tests.fakes.llm import FakeLLMProcess
from tests.harness.gateway import HERMES, llm_config, write_home

SAMPLES = 50
WARMUP = 5
PARALLEL_CHANNELS = 50
PARALLEL_ROUNDS = 3
INTENTS = (1 << 0) | (1 << 9) | (1 << 12) | (1 << 15)


def figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered) * 1000, 2), "p90": round(p90 * 1000, 2)}


async def post(
    session: aiohttp.ClientSession, dc: DiscordEmulator, user: User, channel: Channel, text: str
) -> None:
    async with session.post(
        f"{dc.url}/channels/{channel.id}/messages",
        json={"content": text},
        headers={"Authorization": user.token},
    ) as response:
        assert response.status == 200, await response.text()


async def emulator_trips(
    session: aiohttp.ClientSession, dc: DiscordEmulator, token: str, alice: User, channel: Channel
) -> list[float]:
    ws = await session.ws_connect(f"{dc.gateway_url}/?v=10&encoding=json")
    await ws.receive_json()
    await ws.send_json({"op": 2, "d": {"token": token, "intents": INTENTS, "properties": {}}})
    samples = []
    for index in range(WARMUP + SAMPLES):
        text = f"ping {index}"
        started = time.perf_counter()
        await post(session, dc, alice, channel, text)
        while True:
            payload = await asyncio.wait_for(ws.receive_json(), 10)
            if payload.get("t") == "MESSAGE_CREATE" and payload["d"]["content"] == text:
                break
        samples.append(time.perf_counter() - started)
    await ws.close()
    return samples[WARMUP:]


async def bot_trips(
    session: aiohttp.ClientSession, dc: DiscordEmulator, alice: User, bot: User
) -> list[float]:
    dm = dc.dm_channel(alice)
    samples = []
    for index in range(WARMUP + SAMPLES):
        text = f"question {index}"
        answered = dc.watch(lambda m, text=text: m.author_id == bot.id and m.content == text)
        started = time.perf_counter()
        await post(session, dc, alice, dm, text)
        await asyncio.wait_for(answered, 30)
        samples.append(time.perf_counter() - started)
    return samples[WARMUP:]


async def parallel_channels(
    session: aiohttp.ClientSession, dc: DiscordEmulator, people: list[User], bot: User
) -> float:
    chats = [(person, dc.dm_channel(person)) for person in people]

    async def one(person: User, dm: Channel, round_index: int) -> None:
        text = f"round {round_index} from {person.username}"
        answered = dc.watch(lambda m: m.author_id == bot.id and m.channel_id == dm.id and m.content == text)
        await post(session, dc, person, dm, text)
        await asyncio.wait_for(answered, 60)

    await asyncio.gather(*(one(person, dm, -1) for person, dm in chats))
    started = time.perf_counter()
    for round_index in range(PARALLEL_ROUNDS):
        await asyncio.gather(*(one(person, dm, round_index) for person, dm in chats))
    return len(chats) * PARALLEL_ROUNDS / (time.perf_counter() - started)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hermes-discord-bench-") as scratch:
        gateway: asyncio.subprocess.Process | None = None
        async with (
            DiscordEmulator() as dc,
            FakeLLMProcess("--instant", "--no-record") as llm,
            aiohttp.ClientSession() as session,
        ):
            try:
                dc.limiter.enabled = False
                bot, token = dc.create_bot("hermes")
                people = [dc.create_user(f"person{i}") for i in range(PARALLEL_CHANNELS)]
                guild = dc.create_guild("bench", [*people, bot])
                general = dc.create_channel(guild, "general")
                emulator = await emulator_trips(session, dc, token, people[0], general)
                home = write_home(
                    Path(scratch) / "home",
                    config={
                        "model": llm_config(llm.base_url),
                        "logging": {"level": "WARNING"},
                        # One person sends 55 messages in a few seconds here: the per-person limit is a
                        # policy, not the bot's speed.
                        "gateway": {"user_messages_per_minute": 0},
                    },
                    env={
                        "DISCORD_BOT_TOKEN": token,
                        "DISCORD_API_URL": dc.url,
                        "DISCORD_ALLOW_ALL_USERS": "true",
                    },
                )
                env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
                gateway = await asyncio.create_subprocess_exec(
                    HERMES,
                    "gateway",
                    "run",
                    "-q",
                    env={**env, "HERMES_HOME": str(home)},
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                await dc.wait_for(lambda: any(s.socket for s in dc.gateway.sessions.values()), timeout=60)
                await asyncio.sleep(1.0)  # slash-command sync and the first catch-up settle
                bot_samples = await bot_trips(session, dc, people[0], bot)
                rate = await parallel_channels(session, dc, people, bot)
            finally:
                if gateway is not None:
                    gateway.terminate()
                    await asyncio.wait_for(gateway.wait(), 30)
    emulator_figures, bot_figures = figures(emulator), figures(bot_samples)
    print(
        json.dumps(
            {
                "samples": SAMPLES,
                "emulator_ms": emulator_figures,
                "bot_ms": bot_figures,
                "bot_share_ms": round(bot_figures["median"] - emulator_figures["median"], 2),
                "replies_per_s": round(rate, 1),
                "parallel_channels": PARALLEL_CHANNELS,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
