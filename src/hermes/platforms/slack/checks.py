"""`hermes doctor` for Slack: the settings, the bot token (auth.test, and the scopes it lacks), the app
token and Socket Mode (apps.connections.open), and whether anyone may talk to the bot."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.errors import SlackApiError

from hermes.config.errors import ConfigError
from hermes.platforms.base import Check
from hermes.platforms.slack.options import SlackOptions
from hermes.platforms.slack.scopes import REQUIRED_SCOPES, missing_scopes
from hermes.platforms.slack.web import SlackWeb, error_code

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

CHECK_TIMEOUT = 10.0
_BOT_FIX = "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN"
_APP_FIX = (
    "enable Socket Mode (Settings → Socket Mode) and create an app-level token with connections:write "
    "(Basic Information → App-Level Tokens) for SLACK_APP_TOKEN"
)


async def live_checks(config: LoadedConfig) -> list[Check]:
    try:
        options = SlackOptions.from_config(config)
    except ConfigError as exc:
        return [Check(False, f"slack: {p}", "fix the setting named") for p in exc.problems]
    web = SlackWeb(options.bot_token, options.api_url, timeout=int(CHECK_TIMEOUT))
    try:
        async with asyncio.timeout(CHECK_TIMEOUT * 2):
            checks = [*await _bot_token(web), await _app_token(web, options)]
    except TimeoutError:
        checks = [Check(False, f"slack: {options.api_url} did not answer in time", _reach(options))]
    except (aiohttp.ClientError, OSError) as exc:
        checks = [Check(False, f"slack: cannot reach {options.api_url}: {exc}", _reach(options))]
    finally:
        await web.close()
    gateway = config.settings.gateway
    access = options.access
    if not (access.users or access.allow_all or gateway.allowed_users or gateway.allow_all_users):
        checks.append(
            Check(False, "slack: nobody may talk to the bot", "set SLACK_ALLOWED_USERS=<member ids, U…>")
        )
    return checks


async def _bot_token(web: SlackWeb) -> list[Check]:
    try:
        reply = await web.call("auth_test")
    except SlackApiError as exc:
        return [Check(False, f"slack: Slack refuses SLACK_BOT_TOKEN ({error_code(exc)})", _BOT_FIX)]
    checks = [Check(True, f"slack: signed in as {reply.get('user')} in {reply.get('team')}")]
    lacking = missing_scopes(reply.headers.get("x-oauth-scopes"))
    if lacking:
        uses = "; ".join(f"{scope} ({REQUIRED_SCOPES[scope]})" for scope in lacking)
        checks.append(
            Check(
                False, f"slack: the bot lacks scopes: {uses}", "add them under OAuth & Permissions, reinstall"
            )
        )
    return checks


async def _app_token(web: SlackWeb, options: SlackOptions) -> Check:
    try:
        await web.call("apps_connections_open", app_token=options.app_token)
    except SlackApiError as exc:
        return Check(False, f"slack: Socket Mode refused SLACK_APP_TOKEN ({error_code(exc)})", _APP_FIX)
    return Check(True, "slack: Socket Mode accepts the app token")


def _reach(options: SlackOptions) -> str:
    return f"check the network (and SLACK_API_URL, now {options.api_url})"
