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
    assert fields["session"] == "resumable" and fields["home_channel"] == bot.general.id
