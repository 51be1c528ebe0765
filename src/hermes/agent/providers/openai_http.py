"""The HTTP side of an OpenAI-compatible API: one aiohttp session, the key, the URLs, and every way a call can
fail turned into a ProviderError that names the provider and never holds the key.

This replaced the official `openai` client for chat: building and sending one request through it cost
0.6 ms of CPU, more than half of the gateway's whole budget per API request (issue 5). Everything the client
still did for us is here: Bearer auth, the base URL, typed status errors with `Retry-After`, timeouts.
Retrying stays in `retry.py`.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import aiohttp
from yarl import URL

from hermes import __version__
from hermes.agent.providers.base import (
    ProviderError,
    connection_error,
    error_detail,
    is_retryable_status,
    parse_retry_after,
    redact,
)
from hermes.sse import server_sent_events

# The client's default pool size: the hub may run a few hundred sessions at once.
MAX_CONNECTIONS = 1000


def proxy_for(url: URL) -> str | None:
    """The proxy `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` name for `url`, as the official clients honour them.

    Settled once, since the base URL never changes: aiohttp's own `trust_env` settles it per request, with
    two hops to a thread that cost more than the rest of the request."""
    if not url.host or urllib.request.proxy_bypass(url.host):
        return None
    return urllib.request.getproxies().get(url.scheme)


class OpenAIHttp:
    def __init__(
        self,
        base_url: str,
        key: str | None,
        *,
        label: str,
        timeout: float,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.label = label
        self._base = base_url.rstrip("/")
        self._secrets = (key,)
        self._headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": f"hermes-gateway/{__version__}",
            **(headers or {}),
        }
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        # Per read, not per call: a long answer streams for minutes, a stalled one is caught in `timeout`.
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout)
        self._urls: dict[str, URL] = {}
        self._proxy = proxy_for(URL(self._base))
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(f"{self._base}/{path}")
        return url

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            # Created on first use: a session belongs to the running event loop.
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
                proxy=self._proxy,
            )
        return self._session

    async def stream(self, path: str, body: bytes) -> AsyncGenerator[str, None]:
        """POSTs `body` and yields the data of each server-sent event up to `[DONE]`."""
        started = False
        try:
            async with self._http().post(self._url(path), data=body) as response:
                if response.status >= 400:
                    raise self._status_error(response.status, response.headers, await response.read())
                started = True
                # Closed here, not by the garbage collector: a finaliser costs a task per request.
                async with aclosing(server_sent_events(response.content.iter_any())) as events:
                    async for event in events:
                        if event.data == "[DONE]":
                            return
                        yield event.data
        except TimeoutError:
            raise ProviderError(f"{self.label} did not answer in time", retryable=True) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise connection_error(self.label, started, self._describe(exc)) from None

    async def get_json(self, path: str) -> Any:
        try:
            async with self._http().get(self._url(path)) as response:
                body = await response.read()
                if response.status >= 400:
                    raise self._status_error(response.status, response.headers, body)
        except TimeoutError:
            raise ProviderError(f"{self.label} did not answer in time", retryable=True) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise connection_error(self.label, False, self._describe(exc)) from None
        try:
            return json.loads(body)
        except ValueError:
            raise ProviderError(f"{self.label} answered GET /{path} with something other than JSON") from None

    def _status_error(self, status: int, headers: Any, raw: bytes) -> ProviderError:
        text = raw.decode("utf-8", "replace")
        try:
            body: object = json.loads(text)
        except ValueError:
            body = text
        detail = redact(error_detail(body, "no details given"), self._secrets)
        return ProviderError(
            f"{self.label} returned HTTP {status}: {detail}",
            status=status,
            retryable=is_retryable_status(status),
            retry_after=parse_retry_after(headers),
        )

    def _describe(self, exc: BaseException) -> str:
        return redact(str(exc), self._secrets) or type(exc).__name__
