"""Slack round trips against the emulator. Prints one JSON line.

- `socket_ms`: the emulator's own post-to-event time — a person's message stored, until a Socket Mode
  client holds the envelope (measured before the bot connects, so it has the socket to itself).
- `api_ms`: the emulator's own Web API time — one `chat.postMessage` from a plain aiohttp client.
- `bot_ms`: a person writes in a DM with the bot, until the bot's reply is stored by the emulator. The bot
  is `hermes gateway run` in its own process (SLACK_REACTIONS off: the bare reply path); the fake LLM
  answers at once, in its own process.
- `bot_share_ms`: `bot_ms` minus one socket trip (the question reaching the bot) and one Web API trip (the
  reply being posted): what the bot itself adds, the model call on loopback included. Target: <= 10 ms.
- `replies_per_s`: 50 people writing to the bot in their DMs at once, one message each per round;
  replies posted per second.

Median and p90 over 50 messages, after a warm-up.
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

from tests.fakes.llm import FakeLLMProcess
from tests.fakes.slack import Conversation, Message, SlackEmulator, User
from tests.harness.gateway import HERMES, llm_config, write_home

SAMPLES = 50
WARMUP = 5
PARALLEL_CHANNELS = 50
PARALLEL_ROUNDS = 3


def figures(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered) * 1000, 2), "p90": round(p90 * 1000, 2)}


class Replies:
    """Futures resolved by the emulator the moment the bot posts a matching message."""

    def __init__(self, slack: SlackEmulator) -> None:
        self.bot = slack.bot.id
        self.waiting: dict[tuple[str, str], asyncio.Future[Message]] = {}
        slack.workspace.watchers.append(self._seen)

    def _seen(self, message: Message) -> None:
        if message.user != self.bot:
            return
        future = self.waiting.pop((message.channel, message.text), None)
        if future is not None and not future.done():
            future.set_result(message)

    def expect(self, conv: Conversation, text: str) -> asyncio.Future[Message]:
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.waiting[(conv.id, text)] = future
        return future


async def socket_trips(slack: SlackEmulator, session: aiohttp.ClientSession, alice: User) -> list[float]:
    headers = {"Authorization": f"Bearer {slack.app_token}"}
    async with session.post(slack.api_url + "apps.connections.open", headers=headers) as resp:
        url = (await resp.json())["url"]
    dm = slack.dm(alice)
    samples = []
    async with session.ws_connect(url) as ws:
        await ws.receive()  # hello
        for index in range(WARMUP + SAMPLES):
            started = time.perf_counter()
            await slack.post(alice, dm, f"ping {index}")
            envelope = json.loads((await ws.receive()).data)
            samples.append(time.perf_counter() - started)
            await ws.send_str(json.dumps({"envelope_id": envelope["envelope_id"]}))
    return samples[WARMUP:]


async def api_trips(slack: SlackEmulator, session: aiohttp.ClientSession, conv: Conversation) -> list[float]:
    poster = next(u for u in slack.workspace.users.values() if u.id in conv.members)
    headers = {"Authorization": f"Bearer {slack.user_token(poster)}"}
    samples = []
    for index in range(WARMUP + SAMPLES):
        started = time.perf_counter()
        body = {"channel": conv.id, "text": f"api {index}"}
        async with session.post(slack.api_url + "chat.postMessage", json=body, headers=headers) as resp:
            assert (await resp.json())["ok"]
        samples.append(time.perf_counter() - started)
    return samples[WARMUP:]


async def bot_trips(slack: SlackEmulator, replies: Replies, alice: User) -> list[float]:
    dm = slack.dm(alice)
    samples = []
    for index in range(WARMUP + SAMPLES):
        text = f"question {index}"
        answered = replies.expect(dm, text)
        started = time.perf_counter()
        await slack.post(alice, dm, text)
        await asyncio.wait_for(answered, 30)
        samples.append(time.perf_counter() - started)
    return samples[WARMUP:]


async def parallel_channels(slack: SlackEmulator, replies: Replies, people: list[User]) -> float:
    chats = [(person, slack.dm(person)) for person in people]

    async def one(person: User, dm: Conversation, round_index: int) -> None:
        text = f"round {round_index} from {person.name}"
        answered = replies.expect(dm, text)
        await slack.post(person, dm, text)
        await asyncio.wait_for(answered, 60)

    await asyncio.gather(*(one(person, dm, -1) for person, dm in chats))
    started = time.perf_counter()
    for round_index in range(PARALLEL_ROUNDS):
        await asyncio.gather(*(one(person, dm, round_index) for person, dm in chats))
    return len(chats) * PARALLEL_ROUNDS / (time.perf_counter() - started)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hermes-slack-bench-") as scratch:
        gateway: asyncio.subprocess.Process | None = None
        async with (
            SlackEmulator() as slack,
            FakeLLMProcess("--instant", "--no-record") as llm,
            aiohttp.ClientSession() as session,
        ):
            try:
                people = [slack.add_user(f"person{i}") for i in range(PARALLEL_CHANNELS)]
                alice = people[0]
                room = slack.add_channel("bench", [alice, people[1]])
                socket = await socket_trips(slack, session, alice)
                api = await api_trips(slack, session, room)
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
                        "SLACK_BOT_TOKEN": slack.bot_token,
                        "SLACK_APP_TOKEN": slack.app_token,
                        "SLACK_API_URL": slack.api_url,
                        "SLACK_ALLOW_ALL_USERS": "true",
                        "SLACK_REACTIONS": "false",
                    },
                )
                env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
                gateway = await asyncio.create_subprocess_exec(
                    HERMES,
                    "gateway",
                    "run",
                    "-v" if os.environ.get("BENCH_DEBUG") else "-q",
                    env={**env, "HERMES_HOME": str(home)},
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=None if os.environ.get("BENCH_DEBUG") else asyncio.subprocess.DEVNULL,
                )
                await slack.wait_for_connections(1, timeout=60)
                replies = Replies(slack)
                # the first catch-up (the bot's cursor is set on its first socket) before measuring
                await asyncio.sleep(0.5)
                bot_samples = await bot_trips(slack, replies, alice)
                rate = await parallel_channels(slack, replies, people)
            finally:
                if gateway is not None:
                    gateway.terminate()
                    await asyncio.wait_for(gateway.wait(), 30)
    socket_figures, api_figures, bot_figures = figures(socket), figures(api), figures(bot_samples)
    share = bot_figures["median"] - socket_figures["median"] - api_figures["median"]
    print(
        json.dumps(
            {
                "samples": SAMPLES,
                "socket_ms": socket_figures,
                "api_ms": api_figures,
                "bot_ms": bot_figures,
                "bot_share_ms": round(share, 2),
                "replies_per_s": round(rate, 1),
                "parallel_channels": PARALLEL_CHANNELS,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
