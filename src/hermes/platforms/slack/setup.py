"""Slack's part of `hermes gateway setup`: the two tokens checked live (the scopes the bot lacks named),
who may talk to the bot, and the home channel."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from hermes.platforms.base import Check
from hermes.platforms.slack.probe import check_app_token, check_bot_token
from hermes.platforms.slack.settings import DEFAULT_API_URL, SlackSettings
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

MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_WHO = """  Who may talk to the bot? Slack member ids, comma-separated (U…: in Slack, a profile → ⋮ →
  Copy member ID). Names are not accepted: two people can share one."""
_APP = """  Create the app at https://api.slack.com/apps and turn on Socket Mode, then make an app-level
  token with the connections:write scope (Basic Information → App-Level Tokens)."""


def _token(prefix: str, what: str) -> Any:
    def parse(raw: str) -> str:
        value = raw.strip()
        if not value.startswith(prefix):
            raise ValueError(f"{what} starts with {prefix}")
        return value

    return parse


def _ids(pattern: re.Pattern[str], what: str) -> Any:
    def parse(raw: str) -> list[str]:
        values = split_list(raw)
        wrong = [v for v in values if not pattern.match(v)]
        if wrong:
            raise ValueError(f"{', '.join(wrong)}: not {what}")
        return values

    return parse


def _channel(raw: str) -> str:
    value = raw.strip()
    if value and not CHANNEL_ID.match(value):
        raise ValueError(f"{value}: not a channel id (C…; the channel's details show it at the bottom)")
    return value


def run(form: SetupForm, current: SlackSettings) -> dict[str, Any]:
    form.ui.say("\nSlack")
    api_url = current.api_url or DEFAULT_API_URL
    bot = Question(
        "slack.bot_token",
        "Bot token (xoxb-…)",
        "--slack-bot-token",
        explain="  OAuth & Permissions → Bot User OAuth Token.",
        secret=True,
        parse=_token("xoxb-", "a bot token"),
    )
    app = Question(
        "slack.app_token",
        "App-level token (xapp-…)",
        "--slack-app-token",
        explain=_APP,
        secret=True,
        parse=_token("xapp-", "an app-level token"),
    )
    form.ask(bot, as_default(current.bot_token))
    form.ask(app, as_default(current.app_token))

    def check() -> Check:
        answers = form.answers

        async def both() -> Check:
            checks = await check_bot_token(api_url, answers["slack.bot_token"])
            checks.append(await check_app_token(api_url, answers["slack.app_token"]))
            failed = [c for c in checks if not c.ok]
            return failed[0] if failed else checks[0]

        return asyncio.run(both())

    form.verify("the Slack app", check, [Fix("The bot token", bot), Fix("The app token", app)])
    allowed = Question(
        "slack.allowed_users",
        "Allowed member ids",
        "--slack-allowed-users",
        explain=_WHO,
        optional=True,
        parse=_ids(MEMBER_ID, "a member id (U…)"),
    )
    while not form.ask(allowed, as_default(current.allowed_users)) and not confirm_nobody(form, "Slack"):
        pass
    home = Question(
        "slack.home_channel",
        "Home channel id (for cron results; empty for none)",
        "--slack-home-channel",
        optional=True,
        parse=_channel,
    )
    form.ask(home, as_default(current.home_channel))
    keys = ("slack.bot_token", "slack.app_token", "slack.allowed_users", "slack.home_channel")
    return {key: form.answers[key] for key in keys if form.answers.get(key) not in (None, "")}


def next_steps(current: SlackSettings) -> str:
    return (
        "  In Slack: DM the app, or invite it to a channel (/invite @app) and @mention it. "
        "`/hermes help` lists the commands."
    )


WIZARD = WizardSection(
    hint="a Slack app in Socket Mode (bot token + app-level token)",
    flags=(
        Flag("--slack-bot-token", "slack.bot_token", "The Bot User OAuth Token (xoxb-…)."),
        Flag("--slack-app-token", "slack.app_token", "An app-level token (xapp-…) with connections:write."),
        Flag("--slack-allowed-users", "slack.allowed_users", "Comma-separated member ids (U…)."),
        Flag("--slack-home-channel", "slack.home_channel", "Channel id (C…) for proactive messages."),
    ),
    run=run,
    next_steps=next_steps,
)
