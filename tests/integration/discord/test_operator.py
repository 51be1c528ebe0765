"""What the operator sees of Discord: `hermes doctor`'s live check and `hermes gateway status`."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from tests.fakes.discord.model import GATEWAY_MESSAGE_CONTENT
from tests.harness.gateway import HERMES

from .conftest import DiscordBot


async def hermes(home: Path, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    proc = await asyncio.create_subprocess_exec(
        HERMES,
        *args,
        env={**env, "HERMES_HOME": str(home)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


def _discord_lines(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if "discord:" in line]


async def test_doctor_signs_in_and_names_what_is_missing(bot: DiscordBot) -> None:
    bot.configure()
    _, out = await hermes(bot.home, "doctor")
    assert any(line.startswith("✓ discord: signed in as hermes") for line in _discord_lines(out)), out
    bot.configure(env={"DISCORD_ALLOWED_USERS": f"{bot.alice.id},bob"})
    code, out = await hermes(bot.home, "doctor")
    assert any("has bob, which are not user ids" in line for line in _discord_lines(out)), out
    bot.dc.app.flags &= ~GATEWAY_MESSAGE_CONTENT
    bot.configure(allowed=[])
    code, out = await hermes(bot.home, "doctor")
    lines = _discord_lines(out)
    assert code == 1
    assert any(
        "MESSAGE CONTENT INTENT is off" in line and "Privileged Gateway Intents" in line for line in lines
    )
    assert any("nobody may talk to the bot" in line and "DISCORD_ALLOWED_USERS" in line for line in lines)


async def test_doctor_reports_a_refused_token(bot: DiscordBot) -> None:
    bot.configure(env={"DISCORD_BOT_TOKEN": "wrong"})
    code, out = await hermes(bot.home, "doctor")
    assert code == 1
    assert any("refuses DISCORD_BOT_TOKEN" in line and "Reset Token" in line for line in _discord_lines(out))


async def test_gateway_status_shows_the_discord_fields(bot: DiscordBot) -> None:
    bot.configure(env={"DISCORD_HOME_CHANNEL": bot.general.id})
    async with bot.running():
        code, out = await hermes(bot.home, "gateway", "status", "--json")
    assert code == 0, out
    fields = json.loads(out)["platforms"]["discord"]["fields"]
    assert fields["bot_id"] == bot.bot.id and fields["api"] == bot.dc.url
    assert fields["session"] == "resumable" and fields["home_channel"] == f"Home ({bot.general.id})"


async def setup(home: Path, *flags: str, api_url: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "HERMES_", "API_SERVER_"))}
    proc = await asyncio.create_subprocess_exec(
        HERMES,
        "gateway",
        "setup",
        "--non-interactive",
        *flags,
        env={**env, "HERMES_HOME": str(home), "COLUMNS": "200", "DISCORD_API_URL": api_url},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_setup_checks_the_token_live_and_writes_the_fleet_managers_keys(bot: DiscordBot) -> None:
    bot.home.mkdir(parents=True, exist_ok=True)
    model = ["--provider", "custom", "--base-url", bot.llm.base_url, "--model", "fake-model"]
    flags = [*model, "--platform", "discord", "--discord-allowed-users", f"<@{bot.alice.id}>"]
    code, out = await setup(bot.home, *flags, "--discord-bot-token", "wrong", api_url=bot.dc.url)
    assert code != 0 and "refuses DISCORD_BOT_TOKEN" in out, out
    code, out = await setup(bot.home, *flags, "--discord-bot-token", bot.token, api_url=bot.dc.url)
    assert code == 0, out
    assert bot.token not in out
    env = (bot.home / ".env").read_text()
    assert f"DISCORD_BOT_TOKEN={bot.token}\n" in env and f"DISCORD_ALLOWED_USERS={bot.alice.id}\n" in env
    code, out = await setup(
        bot.home,
        *model,
        "--platform",
        "discord",
        "--discord-bot-token",
        bot.token,
        "--discord-allowed-users",
        "alice",
        api_url=bot.dc.url,
    )
    assert code != 0 and "Discord user ids are numbers" in out, out
