"""Discord's part of `hermes gateway setup`: the bot token checked live (`GET /users/@me`, and the
application's MESSAGE CONTENT switch), then who may talk to the bot."""

from __future__ import annotations

import asyncio
from typing import Any

from hermes.platforms.base import Check
from hermes.platforms.discord.probe import probe
from hermes.platforms.discord.settings import DEFAULT_API_URL, DiscordSettings
from hermes.platforms.wizard import (
    Fix,
    Flag,
    Question,
    SetupForm,
    WizardSection,
    as_default,
    confirm_nobody,
    split_list,
)

_WHO = """  Who may talk to the bot? Discord user ids, comma-separated (18-20 digits).
  Turn on Developer Mode (Settings → Advanced), then right-click a name → Copy User ID."""


def _ids(raw: str) -> list[str]:
    entries = [entry.removeprefix("<@").removeprefix("!").removesuffix(">") for entry in split_list(raw)]
    wrong = [entry for entry in entries if not entry.isdigit()]
    if wrong:
        raise ValueError(f"{', '.join(wrong)}: Discord user ids are numbers (Copy User ID), not names")
    return entries


async def check_token(api_url: str, token: str) -> Check:
    """The live check: the token signs in, and the portal lets the bot read message content."""
    return await probe(api_url, token, None)


def run(form: SetupForm, current: DiscordSettings) -> dict[str, Any]:
    form.ui.say("\nDiscord")
    token = Question(
        "discord.bot_token",
        "Bot token",
        "--discord-bot-token",
        explain="  Developer Portal → Applications → your app → Bot → Reset Token. Turn on MESSAGE CONTENT "
        "INTENT on the same page.",
        secret=True,
    )
    form.ask(token, as_default(current.bot_token))
    api_url = current.api_url or DEFAULT_API_URL

    def check() -> Check:
        return asyncio.run(check_token(api_url, form.answers["discord.bot_token"]))

    form.verify("the Discord bot", check, [Fix("The token", token)])
    allowed = Question(
        "discord.allowed_users",
        "Allowed users",
        "--discord-allowed-users",
        explain=_WHO,
        optional=True,
        parse=_ids,
    )
    while not form.ask(allowed, as_default(current.allowed_users)) and not confirm_nobody(form, "Discord"):
        pass
    return {key: form.answers[key] for key in ("discord.bot_token", "discord.allowed_users")}


WIZARD = WizardSection(
    hint="a bot token from the Developer Portal",
    flags=(
        Flag("--discord-bot-token", "discord.bot_token"),
        Flag("--discord-allowed-users", "discord.allowed_users", "Comma-separated Discord user ids."),
    ),
    run=run,
)
