"""A thin Mattermost REST API v4 client: bearer token, JSON in and out, AppError bodies turned into
`MattermostError`, and the server's rate limiter honoured.

The limiter counts every request of the bot (per address or per user), so one 429 pauses them all: a
shared gate holds each request until the `Retry-After` the server gave has passed, and when a response
says the quota is spent (`X-Ratelimit-Remaining: 0`) the next request waits for one token to come back.
Connection failures and gateway errors are retried for a while on requests that are safe to repeat
(reads and edits). Post creation is deduplicated by `pending_post_id`, but only in the server's memory:
after an attempt whose outcome is unknown (the server may have restarted in between), the post is first
looked for among the channel's recent posts, by the key it carries in its `props`, and sent again only
when it is not there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from hermes.backoff import RetryBudget

log = logging.getLogger(__name__)

API = "/api/v4"
USER_AGENT = "hermes-gateway"
_TRANSIENT_STATUSES = frozenset({502, 503, 504})
# A large file may take longer than any API call; what must not happen is a stall.
_DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=30.0)
# The server answers a retry that races the first attempt's insert with this 500; the retry after it
# gets the post the first attempt created.
_DEDUPLICATION_PENDING = "api.post.deduplicate_create_post.pending"
# Where a created post carries its idempotency key, to be found again after an unknown outcome.
IDEMPOTENCY_PROP = "hermes_idempotency_key"
# How far back, before the first attempt, a post is looked for: room for the server's clock being
# behind ours.
_LOOKBACK_MS = 5 * 60 * 1000

Sleep = Callable[[float], Awaitable[None]]


class MattermostError(Exception):
    """The server answered with an error status (its AppError id and message when it sent one)."""

    def __init__(self, status: int, error_id: str, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path}: {status} {error_id or ''} {message}".replace("  ", " ").strip())
        self.status = status
        self.error_id = error_id
        self.message = message


class OutcomeUnknown(Exception):
    """The request reached the server, but whether it was carried out cannot be known (the connection
    dropped before the answer, or a gateway in front answered for it)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How one request reacts to trouble. 429s are always waited out, up to `rate_limit_budget` seconds.
    With `repeat_unknown` False, an attempt of unknown outcome raises `OutcomeUnknown` instead of being
    repeated (for requests the server may not deduplicate)."""

    transient_budget: float = 0.0
    rate_limited: bool = True
    rate_limit_budget: float = 300.0
    repeat_unknown: bool = True


READ = RetryPolicy(transient_budget=10.0)
WRITE = RetryPolicy(transient_budget=60.0)
CREATE = RetryPolicy(transient_budget=60.0, repeat_unknown=False)
BEST_EFFORT = RetryPolicy(rate_limited=False)
# For a first contact (start, doctor): an unreachable server is reported at once, not retried here.
PROBE = RetryPolicy(rate_limit_budget=5.0)


class RateGate:
    """One pause shared by every request of a client."""

    def __init__(self, sleep: Sleep = asyncio.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self._sleep = sleep
        self._clock = clock
        self.not_before = 0.0

    async def wait(self) -> None:
        while (delay := self.not_before - self._clock()) > 0:
            await self._sleep(delay)

    def hold(self, seconds: float) -> None:
        self.not_before = max(self.not_before, self._clock() + seconds)

    def observe(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Learn from a response's rate-limit headers; for a 429, the seconds to wait before retrying."""
        if status == 429:
            wait = _number(headers.get("Retry-After"))
            if wait is None:
                wait = _number(headers.get("X-Ratelimit-Reset"))
            wait = max(wait if wait is not None else 1.0, 0.05)
            self.hold(wait)
            return wait
        if _number(headers.get("X-Ratelimit-Remaining")) == 0:
            # Reset is the time until the whole burst is back; one request needs 1/limit of it.
            reset = _number(headers.get("X-Ratelimit-Reset")) or 1.0
            limit = _number(headers.get("X-Ratelimit-Limit")) or 1.0
            self.hold(reset / max(limit, 1.0))
        return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _error_from(status: int, body: bytes, method: str, path: str) -> MattermostError:
    error_id, message = "", body.decode(errors="replace").strip()[:300]
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error_id = str(parsed.get("id") or "")
        message = str(parsed.get("message") or message)
    return MattermostError(status, error_id, message, method, path)


class RestClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=10.0)
        self._sleep = sleep
        self._clock = clock
        self.gate = RateGate(sleep, clock)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.token}", "User-Agent": USER_AGENT},
                timeout=self._timeout,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the one request path --------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        policy: RetryPolicy = READ,
    ) -> Any:
        """One API call; the decoded JSON answer. `form` builds a fresh multipart body for each attempt."""
        raw = await self._send(method, path, json_body, params, form, policy, _read_body)
        return json.loads(raw) if raw else None

    async def _object(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        """`request` for an endpoint that answers a JSON object; any other answer is the server's fault."""
        answer = await self.request(method, path, **options)
        if not isinstance(answer, dict):
            raise MattermostError(200, "", f"answered {type(answer).__name__}, not an object", method, path)
        return answer

    async def download(self, path: str, limit: int) -> bytes:
        """A file's bytes; `FileTooLarge` as soon as more than `limit` bytes arrive."""

        async def read(response: aiohttp.ClientResponse) -> bytes:
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > limit:
                    raise FileTooLarge(limit)
            return bytes(data)

        return await self._send("GET", path, None, None, None, READ, read, _DOWNLOAD_TIMEOUT)

    async def _send(
        self,
        method: str,
        path: str,
        json_body: Any,
        params: Mapping[str, str] | None,
        form: Callable[[], aiohttp.FormData] | None,
        policy: RetryPolicy,
        read: Callable[[aiohttp.ClientResponse], Awaitable[bytes]],
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> bytes:
        url = f"{self.url}{API}{path}"
        retries = self._retries()
        while True:
            retries.next_attempt()
            await self.gate.wait()
            try:
                body = form() if form is not None else None
                async with self.session.request(
                    method, url, json=json_body, params=params, data=body, timeout=timeout or self._timeout
                ) as response:
                    retry_after = self.gate.observe(response.status, response.headers)
                    if response.status < 400:
                        return await read(response)
                    error = _error_from(response.status, await response.read(), method, path)
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                # A connection never made carried nothing; any other failure may come after the server
                # acted on the request.
                if not policy.repeat_unknown and not isinstance(exc, aiohttp.ClientConnectorError):
                    raise OutcomeUnknown(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
                delay = retries.delay()
                if not retries.allows(delay, policy.transient_budget):
                    raise
                log.debug("mattermost: %s %s failed (%s); retrying", method, path, exc)
                await self._sleep(delay)
                continue
            within_budget = retry_after is not None and retries.allows(retry_after, policy.rate_limit_budget)
            if within_budget and policy.rate_limited:
                log.info("mattermost: rate limited on %s %s; retrying in %.1f s", method, path, retry_after)
                continue
            if error.status in _TRANSIENT_STATUSES and not policy.repeat_unknown:
                raise OutcomeUnknown(str(error)) from error
            transient = error.status in _TRANSIENT_STATUSES or error.error_id == _DEDUPLICATION_PENDING
            delay = retries.delay()
            if transient and retries.allows(delay, policy.transient_budget):
                await self._sleep(delay)
                continue
            raise error

    def _retries(self) -> RetryBudget:
        return RetryBudget(0.25, 5.0, clock=self._clock)

    # -- endpoints ---------------------------------------------------------------------------------------

    async def me(self, policy: RetryPolicy = READ) -> dict[str, Any]:
        return await self._object("GET", "/users/me", policy=policy)

    async def user(self, user_id: str) -> dict[str, Any]:
        return await self._object("GET", f"/users/{user_id}")

    async def my_channels(self) -> list[dict[str, Any]]:
        """Every channel of every team the bot belongs to, its DMs and group messages included."""
        answer = await self.request("GET", "/users/me/channels")
        if not isinstance(answer, list):
            raise MattermostError(200, "", "answered no list of channels", "GET", "/users/me/channels")
        return answer

    async def posts_since(self, channel_id: str, since_ms: int) -> dict[str, Any]:
        """PostList of the channel's posts changed (created, edited, replied to) after `since_ms`."""
        return await self._object("GET", f"/channels/{channel_id}/posts", params={"since": str(since_ms)})

    async def posts_page(self, channel_id: str, page: int, per_page: int) -> dict[str, Any]:
        params = {"page": str(page), "per_page": str(per_page)}
        return await self._object("GET", f"/channels/{channel_id}/posts", params=params)

    async def post(self, post_id: str) -> dict[str, Any]:
        return await self._object("GET", f"/posts/{post_id}")

    async def thread(self, post_id: str) -> dict[str, Any]:
        return await self._object("GET", f"/posts/{post_id}/thread")

    async def create_post(
        self,
        channel_id: str,
        message: str,
        *,
        root_id: str = "",
        pending_post_id: str = "",
        file_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"channel_id": channel_id, "message": message, "root_id": root_id}
        if file_ids:
            body["file_ids"] = file_ids
        if not pending_post_id:
            return await self._object("POST", "/posts", json_body=body, policy=WRITE)
        body["pending_post_id"] = pending_post_id
        body["props"] = {IDEMPOTENCY_PROP: pending_post_id}
        since_ms = int(time.time() * 1000) - _LOOKBACK_MS
        retries = self._retries()
        while True:
            try:
                return await self._object("POST", "/posts", json_body=body, policy=CREATE)
            except OutcomeUnknown as doubt:
                log.info("mattermost: %s; looking for the post before sending it again", doubt)
                while True:
                    retries.next_attempt()
                    delay = retries.delay()
                    if not retries.allows(delay, CREATE.transient_budget):
                        raise
                    await self._sleep(delay)
                    try:
                        found = await self._created_post(channel_id, pending_post_id, since_ms)
                    except (aiohttp.ClientConnectionError, TimeoutError, MattermostError) as exc:
                        log.debug("mattermost: could not look for the post yet (%s)", exc)
                        continue
                    break
                if found is not None:
                    return found

    async def _created_post(
        self, channel_id: str, pending_post_id: str, since_ms: int
    ) -> dict[str, Any] | None:
        """Our post carrying `pending_post_id` in its props, if the channel has it."""
        answer = await self.request(
            "GET", f"/channels/{channel_id}/posts", params={"since": str(since_ms)}, policy=BEST_EFFORT
        )
        posts = answer.get("posts") if isinstance(answer, dict) else None
        for post in posts.values() if isinstance(posts, dict) else ():
            props = post.get("props") if isinstance(post, dict) else None
            if isinstance(props, dict) and props.get(IDEMPOTENCY_PROP) == pending_post_id:
                return dict(post)
        return None

    async def patch_post(self, post_id: str, message: str) -> dict[str, Any]:
        body = {"message": message}
        return await self._object("PUT", f"/posts/{post_id}/patch", json_body=body, policy=WRITE)

    async def typing(self, channel_id: str, parent_id: str = "") -> None:
        body = {"channel_id": channel_id, "parent_id": parent_id}
        await self.request("POST", "/users/me/typing", json_body=body, policy=BEST_EFFORT)

    async def upload(self, channel_id: str, filename: str, data: bytes, mime_type: str) -> dict[str, Any]:
        def form() -> aiohttp.FormData:
            payload = aiohttp.FormData()
            payload.add_field("channel_id", channel_id)
            payload.add_field("files", data, filename=filename, content_type=mime_type)
            return payload

        answer = await self.request("POST", "/files", form=form, policy=WRITE)
        infos = answer.get("file_infos") if isinstance(answer, dict) else None
        if not isinstance(infos, list) or not infos or not isinstance(infos[0], dict):
            raise MattermostError(201, "", "upload answered without a file", "POST", "/files")
        return infos[0]

    async def file_info(self, file_id: str) -> dict[str, Any]:
        return await self._object("GET", f"/files/{file_id}/info")

    async def file(self, file_id: str, limit: int) -> bytes:
        return await self.download(f"/files/{file_id}", limit)


class FileTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


async def _read_body(response: aiohttp.ClientResponse) -> bytes:
    return await response.read()
