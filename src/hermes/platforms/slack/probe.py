"""Live checks of the two tokens, for `hermes doctor` and the setup wizard: `auth.test` with the bot token
(and the scopes it lacks, from `x-oauth-scopes`), `apps.connections.open` with the app token (which also
fails when Socket Mode is off). Plain aiohttp, so they work without the `slack` extra."""

from __future__ import annotations

from typing import Any

import aiohttp

from hermes.platforms.base import Check
from hermes.platforms.slack.scopes import REQUIRED_SCOPES, missing_scopes

TIMEOUT = 10.0
BOT_FIX = "copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page"
APP_FIX = (
    "enable Socket Mode (app settings → Socket Mode) and create an app-level token with connections:write "
    "(Basic Information → App-Level Tokens)"
)


async def _call(api_url: str, method: str, token: str) -> tuple[dict[str, Any], str | None]:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(api_url + method, headers=headers) as response,
    ):
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise aiohttp.ClientError(f"{api_url}{method} answered HTTP {response.status}, not the Slack API")
        return body, response.headers.get("x-oauth-scopes")


async def check_bot_token(api_url: str, token: str) -> list[Check]:
    try:
        body, scopes = await _call(api_url, "auth.test", token)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        fix = f"check the network (and SLACK_API_URL, now {api_url})"
        return [Check(False, f"cannot reach {api_url}: {exc or type(exc).__name__}", fix, "slack.api_url")]
    if not body.get("ok"):
        error = body.get("error", "?")
        return [Check(False, f"Slack refuses the bot token ({error})", BOT_FIX, "slack.bot_token")]
    if not body.get("bot_id"):
        return [
            Check(False, "that token is not a bot token (auth.test names no bot)", BOT_FIX, "slack.bot_token")
        ]
    facts = {"user_id": str(body.get("user_id")), "team": str(body.get("team"))}
    checks = [Check(True, f"signed in as {body.get('user')} in {body.get('team')}", facts=facts)]
    lacking = missing_scopes(scopes)
    if lacking:
        uses = "; ".join(f"{scope} ({REQUIRED_SCOPES[scope]})" for scope in lacking)
        fix = "add them under OAuth & Permissions → Bot Token Scopes, then reinstall the app"
        checks.append(Check(False, f"the bot lacks scopes: {uses}", fix, "slack.bot_token"))
    return checks


async def check_app_token(api_url: str, token: str) -> Check:
    try:
        body, _ = await _call(api_url, "apps.connections.open", token)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Check(False, f"cannot reach {api_url}: {exc or type(exc).__name__}", None, "slack.api_url")
    if not body.get("ok"):
        error = body.get("error", "?")
        return Check(False, f"Socket Mode refuses the app token ({error})", APP_FIX, "slack.app_token")
    return Check(True, "Socket Mode accepts the app token")
