"""Why Discord will not have the bot, in words the operator can act on: a refused token (401, close
4004) or intents the developer portal has not enabled (close 4014)."""

from __future__ import annotations

import contextlib
from typing import Any

import aiohttp

from hermes.platforms.base import CredentialsRejected, StartRefused
from hermes.platforms.discord.gateway import GatewayRefused
from hermes.platforms.discord.probe import CONTENT_FLAGS
from hermes.platforms.discord.rest import PROBE, DiscordError, RestClient


async def sign_in(rest: RestClient, api_url: str) -> dict[str, Any]:
    try:
        me = await rest.request("GET", "/users/@me", policy=PROBE)
    except DiscordError as exc:
        if exc.status == 401:
            raise CredentialsRejected(
                f"{api_url} refused DISCORD_BOT_TOKEN (401 Unauthorized); copy a new token from the "
                "Developer Portal (Applications → your app → Bot → Reset Token) and restart"
            ) from None
        raise
    return dict(me)


async def refusal(rest: RestClient, exc: GatewayRefused) -> StartRefused:
    if exc.code == 4004:
        return CredentialsRejected(
            "Discord refused DISCORD_BOT_TOKEN on the Gateway (close 4004); reset the token in the Developer "
            "Portal and restart"
        )
    if exc.code == 4014:
        missing = "MESSAGE CONTENT INTENT"
        with contextlib.suppress(DiscordError, aiohttp.ClientError, OSError, TimeoutError):
            app = await rest.request("GET", "/oauth2/applications/@me", policy=PROBE)
            if int(app.get("flags") or 0) & CONTENT_FLAGS:
                missing = "the privileged intents Hermes asks for"
        return StartRefused(
            f"Discord refused the Gateway intents (close 4014): enable {missing} in the Developer Portal "
            "(Applications → your app → Bot → Privileged Gateway Intents), then restart"
        )
    return StartRefused(str(exc))
