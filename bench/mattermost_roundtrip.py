"""Mattermost round trips against the emulator. Prints one JSON line.

- `emulator_ms`: the emulator's own post-to-event time — one person posts over REST, another person's
  WebSocket receives the `posted` event.
- `bot_ms`: a person posts in a DM with the bot, until that person's WebSocket receives the bot's reply.
  The bot is `hermes gateway run` in its own process; the fake LLM answers at once, in its own process.
- `bot_share_ms`: `bot_ms` minus two emulator trips (the question reaching the bot, the answer reaching
  the person): what the bot itself adds, the model call on loopback included. Target: <= 10 ms.
- `replies_per_s`: 50 channels (DMs of 50 people) writing to the bot at once, one post each per round;
  replies created per second.

Median and p90 over 50 posts, after a warm-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.llm import FakeLLMProcess
from tests.fakes.mattermost import Channel, MattermostEmulator, User
from tests.harness.gateway import HERMES, llm_config, write_home

SAMPLES = 50
WARMUP = 5
PARALLEL_CHANNELS = 50
PARALLEL_ROUNDS = 3

Watcher = tuple[Callable[[dict[str, Any]], bool], "asyncio.Future[dict[str, Any]]"]


def figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered) * 1000, 2), "p90": round(p90 * 1000, 2)}


class Human:
    """A person with a REST client and a WebSocket, as a web client has them."""

    def __init__(self, mm: MattermostEmulator, user: User, session: aiohttp.ClientSession) -> None:
        self.mm = mm
        self.user = user
        self.session = session
        self.headers = {"Authorization": f"Bearer {mm.token_for(user)}"}
        self.watchers: list[Watcher] = []
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        ws = await self.session.ws_connect(self.mm.ws_url, headers=self.headers)
        hello = json.loads((await ws.receive()).data)
        assert hello["event"] == "hello", hello
        self.reader = asyncio.create_task(self._read(ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            frame = json.loads(message.data)
            if frame.get("event") != "posted":
                continue
            post = json.loads(frame["data"]["post"])
            waiting = []
            for predicate, future in self.watchers:
                if not future.done() and predicate(post):
                    future.set_result(post)
                elif not future.done():
                    waiting.append((predicate, future))
            self.watchers = waiting

    def expect(self, predicate: Callable[[dict[str, Any]], bool]) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.watchers.append((predicate, future))
        return future

    async def post(self, channel: Channel, text: str) -> dict[str, Any]:
        body = {"channel_id": channel.id, "message": text}
        async with self.session.post(
            f"{self.mm.url}/api/v4/posts", json=body, headers=self.headers
        ) as response:
            assert response.status == 201, await response.text()
            return await response.json()

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


async def emulator_trips(alice: Human, bob: Human, channel: Channel) -> list[float]:
    samples = []
    for index in range(WARMUP + SAMPLES):
        text = f"ping {index}"
        seen = bob.expect(lambda post, text=text: post["message"] == text)
        started = time.perf_counter()
        await alice.post(channel, text)
        await asyncio.wait_for(seen, 10)
        samples.append(time.perf_counter() - started)
    return samples[WARMUP:]


async def bot_trips(alice: Human, dm: Channel, bot: User) -> list[float]:
    samples = []
    for index in range(WARMUP + SAMPLES):
        text = f"question {index}"
        answered = alice.expect(lambda post, text=text: post["user_id"] == bot.id and post["message"] == text)
        started = time.perf_counter()
        await alice.post(dm, text)
        await asyncio.wait_for(answered, 30)
        samples.append(time.perf_counter() - started)
    return samples[WARMUP:]


async def parallel_channels(mm: MattermostEmulator, people: list[Human], bot: User) -> float:
    chats = [(person, mm.direct_channel(person.user, bot)) for person in people]

    async def one(person: Human, dm: Channel, round_index: int) -> None:
        text = f"round {round_index} from {person.user.username}"
        answered = mm.wait_for_post(
            lambda p: p.user_id == bot.id and p.channel_id == dm.id and p.message == text, timeout=60
        )
        await person.post(dm, text)
        await answered

    await asyncio.gather(*(one(person, dm, -1) for person, dm in chats))
    started = time.perf_counter()
    for round_index in range(PARALLEL_ROUNDS):
        await asyncio.gather(*(one(person, dm, round_index) for person, dm in chats))
    return len(chats) * PARALLEL_ROUNDS / (time.perf_counter() - started)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hermes-mattermost-bench-") as scratch:
        root = Path(scratch)
        gateway: asyncio.subprocess.Process | None = None
        humans: list[Human] = []
        async with (
            MattermostEmulator() as mm,
            FakeLLMProcess("--instant", "--no-record") as llm,
            aiohttp.ClientSession() as session,
        ):
            try:
                bot, token = mm.create_bot("hermes")
                users = [mm.create_user(f"person{i}") for i in range(PARALLEL_CHANNELS)]
                team = mm.create_team("bench", members=[bot, *users])
                town = mm.create_channel(team, "O", users[:2], name="town-square")
                humans = [Human(mm, user, session) for user in users]
                alice, bob = humans[0], humans[1]
                await asyncio.gather(alice.connect(), bob.connect())
                home = write_home(
                    root / "home",
                    config={
                        "model": llm_config(llm.base_url),
                        "logging": {"level": "WARNING"},
                        # One person sends far more than the per-person limit allows a person.
                        "gateway": {"user_messages_per_minute": 0},
                    },
                    env={
                        "MATTERMOST_URL": mm.url,
                        "MATTERMOST_TOKEN": token,
                        "MATTERMOST_ALLOWED_USERS": "*",
                    },
                )
                env = {k: v for k, v in os.environ.items() if not k.startswith("MATTERMOST_")}
                gateway = await asyncio.create_subprocess_exec(
                    HERMES,
                    "gateway",
                    "run",
                    "-q",
                    env={**env, "HERMES_HOME": str(home)},
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                await mm.wait_for_sockets(bot, 1, timeout=60)
                emulator = await emulator_trips(alice, bob, town)
                dm = mm.direct_channel(alice.user, bot)
                bot_samples = await bot_trips(alice, dm, bot)
                rate = await parallel_channels(mm, humans, bot)
            finally:
                if gateway is not None:
                    gateway.terminate()
                    await asyncio.wait_for(gateway.wait(), 30)
                for human in humans:
                    await human.close()
    emulator_figures, bot_figures = figures(emulator), figures(bot_samples)
    print(
        json.dumps(
            {
                "samples": SAMPLES,
                "emulator_ms": emulator_figures,
                "bot_ms": bot_figures,
                "bot_share_ms": round(bot_figures["median"] - 2 * emulator_figures["median"], 2),
                "replies_per_s": round(rate, 1),
                "parallel_channels": PARALLEL_CHANNELS,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
