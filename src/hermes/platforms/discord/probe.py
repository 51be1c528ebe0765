"""The live check of `hermes doctor` and the setup wizard: the token signs in (`GET /users/@me`), and the
developer portal's MESSAGE CONTENT switch is on (the application's flags)."""

from __future__ import annotations

import asyncio

import aiohttp

from hermes.platforms.base import Check
from hermes.platforms.discord.rest import PROBE, DiscordError, RestClient

CHECK_TIMEOUT = 10.0
# Application flags: the portal's MESSAGE CONTENT switch (and its "limited", under-100-servers twin).
CONTENT_FLAGS = (1 << 18) | (1 << 19)


async def probe(api_url: str, token: str, proxy: str | None) -> Check:
    """Without MESSAGE CONTENT the bot would read empty messages (and the Gateway refuses it: 4014)."""
    rest = RestClient(api_url, token.strip().removeprefix("Bot ").strip(), timeout=CHECK_TIMEOUT, proxy=proxy)
    reach = "check DISCORD_API_URL (default https://discord.com/api/v10) and the network"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            me = await rest.request("GET", "/users/@me", policy=PROBE)
            app = await rest.request("GET", "/oauth2/applications/@me", policy=PROBE)
    except DiscordError as exc:
        if exc.status == 401:
            fix = "Developer Portal → your app → Bot → Reset Token, then set DISCORD_BOT_TOKEN"
            return Check(False, "discord: Discord refuses DISCORD_BOT_TOKEN", fix, "discord.bot_token")
        return Check(False, f"discord: {api_url} answered {exc}", reach, "discord.api_url")
    except TimeoutError:
        return Check(False, f"discord: {api_url} did not answer within {CHECK_TIMEOUT:.0f} s", reach)
    except (aiohttp.ClientError, OSError) as exc:
        return Check(False, f"discord: cannot reach {api_url}: {exc}", reach, "discord.api_url")
    finally:
        await rest.close()
    facts = {"user_id": str(me.get("id")), "username": str(me.get("username"))}
    if not int(app.get("flags") or 0) & CONTENT_FLAGS:
        return Check(
            False,
            f"discord: signed in as {me.get('username')}, but MESSAGE CONTENT INTENT is off",
            "Developer Portal → your app → Bot → Privileged Gateway Intents → MESSAGE CONTENT INTENT",
            facts=facts,
        )
    return Check(True, f"discord: signed in as {me.get('username')} ({me.get('id')})", facts=facts)
