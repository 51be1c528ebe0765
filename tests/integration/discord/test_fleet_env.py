"""A gateway configured only the way the fleet manager configures it: its `.env` (written key by key as
it writes them) and its `config.yaml` model block; DISCORD_API_URL comes from the process environment,
as a systemd `Environment=` line would give it, to point the bot at the emulator."""

from __future__ import annotations

import secrets
import time

import aiohttp

from tests.fakes.llm import Text
from tests.harness.gateway import gateway_in_process, write_home
from tests.harness.synapse_server import free_port

from .conftest import DiscordBot, settled


async def test_the_fleet_managers_env_alone_runs_discord_and_the_api(bot: DiscordBot) -> None:
    seed = await bot.dc.post_as(bot.alice, bot.random, "the home thread starts here")
    home_thread = await bot.dc.start_thread_as(bot.alice, seed, "reports")
    port = free_port()
    env_file = "".join(
        f"{line}\n"
        for line in (
            "HERMES_INFERENCE_PROVIDER=custom",
            "API_SERVER_ENABLED=1",
            "API_SERVER_HOST=127.0.0.1",
            f"API_SERVER_PORT={port}",
            f"API_SERVER_KEY={secrets.token_hex(32)}",
            f"DISCORD_BOT_TOKEN={bot.token}",
            f"DISCORD_ALLOWED_USERS={bot.alice.id},{bot.bob.id}",
            "DISCORD_ALLOWED_CHANNELS=",
            "DISCORD_REQUIRE_MENTION=true",
            f"DISCORD_HOME_CHANNEL={bot.random.id}",
            "DISCORD_HOME_CHANNEL_NAME=random",
            f"DISCORD_HOME_CHANNEL_THREAD_ID={home_thread.id}",
        )
    )
    write_home(
        bot.home, config={"model": {"provider": "custom", "base_url": bot.llm.base_url, "default": "m"}}
    )
    (bot.home / ".env").write_text(env_file)
    (bot.home / ".env").chmod(0o600)
    bot.llm.script(Text("hi alice"), Text("channel answer"), Text("the daily report"))
    async with gateway_in_process(bot.home, {"DISCORD_API_URL": bot.dc.url}) as gateway:
        await gateway.connected("discord", timeout=10)
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/health") as response:
            assert response.status == 200
        await bot.dc.post_as(bot.alice, bot.dc.dm_channel(bot.alice), "hello")
        await bot.reply(bot.dc.dm_channel(bot.alice), lambda m: m.content == "hi alice")
        question = await bot.dc.post_as(bot.bob, bot.general, bot.mention("any channel works"))
        await bot.reply(question.id, lambda m: m.content == "channel answer")
        await bot.dc.post_as(bot.carol, bot.general, bot.mention("carol is not allowed"))
        hub = gateway.gateway.hub
        assert hub is not None and gateway.gateway.scheduler is not None
        await hub.store.jobs.create(
            name="report",
            schedule_kind="interval",
            schedule_value="86400",
            prompt="write the daily report",
            target="home:discord",
            next_run_at=time.time() - 1,
            grace_seconds=300,
        )
        await gateway.gateway.scheduler.tick()
        report = await bot.reply(home_thread.id, timeout=10)
        await settled(gateway)
    assert report.content.endswith("the daily report")
    assert len(bot.llm.chat_requests) == 3
