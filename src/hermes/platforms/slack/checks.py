"""`hermes doctor` for Slack: the settings, the bot token and its scopes, the app token and Socket Mode,
and whether anyone may talk to the bot."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from hermes.config.errors import ConfigError
from hermes.platforms.base import Check
from hermes.platforms.slack.options import SlackOptions
from hermes.platforms.slack.probe import check_app_token, check_bot_token

if TYPE_CHECKING:
    from hermes.config import LoadedConfig


async def live_checks(config: LoadedConfig) -> list[Check]:
    try:
        options = SlackOptions.from_config(config)
    except ConfigError as exc:
        return [Check(False, f"slack: {p}", "fix the setting named") for p in exc.problems]
    found = [*await check_bot_token(options.api_url, options.bot_token)]
    found.append(await check_app_token(options.api_url, options.app_token))
    checks = [replace(c, label=f"slack: {c.label}") for c in found]
    gateway = config.settings.gateway
    access = options.access
    if not (access.users or access.allow_all or gateway.allowed_users or gateway.allow_all_users):
        checks.append(
            Check(False, "slack: nobody may talk to the bot", "set SLACK_ALLOWED_USERS=<member ids, U…>")
        )
    return checks
