"""Getting connected: the bot token checked (`auth.test`, the scopes it lacks logged), a Socket Mode URL
asked for with the app token (`apps.connections.open`), each refusal turned into one line for the
operator."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from hermes.platforms.base import CredentialsRejected
from hermes.platforms.slack.addressing import Bot
from hermes.platforms.slack.scopes import missing_scopes
from hermes.platforms.slack.web import CREDENTIAL_ERRORS, SlackWeb, error_code

log = logging.getLogger(__name__)


async def sign_in(web: SlackWeb) -> tuple[Bot, str]:
    try:
        reply = await web.call("auth_test")
    except SlackApiError as exc:
        code = error_code(exc)
        if code in CREDENTIAL_ERRORS:
            raise CredentialsRejected(
                f"Slack refused SLACK_BOT_TOKEN ({code}); copy the Bot User OAuth Token (xoxb-…) from the "
                "app's OAuth & Permissions page (reinstall the app if it was removed) and restart"
            ) from None
        raise ConnectionError(f"slack: auth.test failed: {code}") from None
    if not reply.get("bot_id"):
        raise CredentialsRejected(
            "SLACK_BOT_TOKEN is not a bot token (auth.test names no bot); use the xoxb- one"
        )
    lacking = missing_scopes(reply.headers.get("x-oauth-scopes"))
    if lacking:
        log.warning(
            "slack: the bot token lacks the scopes %s; add them under OAuth & Permissions, reinstall the app",
            ", ".join(lacking),
        )
    return Bot(str(reply["user_id"]), str(reply["bot_id"])), str(reply.get("team") or "")


async def socket_url(web: SlackWeb, app_token: str) -> str:
    try:
        reply = await web.call("apps_connections_open", app_token=app_token)
    except SlackApiError as exc:
        code = error_code(exc)
        if code in CREDENTIAL_ERRORS:
            raise CredentialsRejected(
                f"Slack refused SLACK_APP_TOKEN ({code}); create an app-level token with the "
                "connections:write scope (Basic Information → App-Level Tokens), make sure Socket Mode is "
                "enabled, then restart"
            ) from None
        raise ConnectionError(f"slack: apps.connections.open failed: {code}") from None
    return str(reply["url"])
