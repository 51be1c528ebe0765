"""The Web API through slack_sdk's AsyncWebClient, bound to SLACK_API_URL, with Slack's rate limits
honoured: a 429 waits its `Retry-After` and tries again (slack_sdk's default handlers retry only
connection errors, so a 429 would otherwise surface as a failure)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

log = logging.getLogger(__name__)

# Errors that mean the token itself is refused: retrying cannot help, the operator must act.
CREDENTIAL_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
    }
)
RATE_LIMIT_TRIES = 4
# A Retry-After longer than this is not waited out inside one call: the caller's own retry (the hub's,
# the next reconnect) is the better place for it.
MAX_RETRY_AFTER = 60.0


def error_code(exc: SlackApiError) -> str:
    response = exc.response
    return str(response.get("error") or f"HTTP {response.status_code}") if response is not None else str(exc)


def retry_after(exc: SlackApiError) -> float | None:
    response = exc.response
    if response is None or response.status_code != 429:
        return None
    try:
        return float(response.headers.get("Retry-After", "1"))
    except ValueError:
        return 1.0


async def with_rate_limit(
    call: Callable[[], Awaitable[AsyncSlackResponse]], *, what: str
) -> AsyncSlackResponse:
    for attempt in range(1, RATE_LIMIT_TRIES + 1):
        try:
            return await call()
        except SlackApiError as exc:
            wait = retry_after(exc)
            if wait is None or attempt == RATE_LIMIT_TRIES or wait > MAX_RETRY_AFTER:
                raise
            log.info("slack: %s rate limited; retrying in %.0f s", what, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


class SlackWeb:
    def __init__(self, token: str, api_url: str, *, timeout: int = 30) -> None:
        # One session for every call: without it slack_sdk opens a connection per request.
        self.session = aiohttp.ClientSession()
        self.client = AsyncWebClient(token=token, base_url=api_url, timeout=timeout, session=self.session)
        self.token = token

    async def call(self, method: str, **kwargs: Any) -> AsyncSlackResponse:
        """`method` is the client's method name (`chat_postMessage`); None-valued arguments are left out."""
        fn = getattr(self.client, method)
        args = {key: value for key, value in kwargs.items() if value is not None}
        return await with_rate_limit(lambda: fn(**args), what=method)

    async def download(self, url: str, limit: int) -> tuple[bytes, str]:
        """A private file (`url_private_download`): its bytes and content type. Needs the bot token; without
        it Slack answers its sign-in page with status 200, so an HTML answer to a non-HTML file is refused."""
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.session.get(url, headers=headers) as resp:
            resp.raise_for_status()
            if resp.content_length is not None and resp.content_length > limit:
                raise ValueError(f"larger than {limit} bytes")
            data = await resp.content.read(limit + 1)
            if len(data) > limit:
                raise ValueError(f"larger than {limit} bytes")
            return data, resp.content_type

    async def close(self) -> None:
        await self.session.close()
