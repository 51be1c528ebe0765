"""The setup wizard's live checks: does the model answer, does the homeserver accept the token, who is
this Mattermost user. Each returns an `Outcome` that says what went wrong in words an operator can act on,
and which answer (`suspect`, a settings key) most likely needs fixing.

Nothing here writes anything: a password is checked with a throwaway login that is logged out at once,
so the gateway's own session and a daemon already running are left alone.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from hermes.config.settings import Settings

TIMEOUT = 15.0
MATTERMOST_ID = re.compile(r"^[a-z0-9]{26}$")
CHECK_DEVICE_NAME = "Hermes setup check"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str
    fix: str | None = None
    suspect: str | None = None
    facts: Mapping[str, str] = field(default_factory=dict)


# -- the model ---------------------------------------------------------------------------------------------


async def check_model(settings: Settings) -> Outcome:
    """The endpoint and key (the models list), then the model itself (a completion of a few tokens)."""
    from hermes.agent.providers import create_provider
    from hermes.agent.providers.base import ProviderConfigError, ProviderError

    model = settings.model
    key_field = _key_field(model.provider)
    try:
        provider = create_provider(settings)
    except ProviderConfigError as exc:
        return Outcome(False, str(exc), suspect=key_field if "key" in str(exc) else "model.base_url")
    stage = "endpoint"
    try:
        async with asyncio.timeout(TIMEOUT):
            listed = await provider.check()
        stage = "model"
        async with asyncio.timeout(TIMEOUT * 2):
            await _one_completion(provider, model.default)
    except ProviderError as exc:
        return _provider_failure(exc, stage, key_field, model.provider)
    except TimeoutError:
        where = "model.base_url" if model.provider == "custom" else None
        return Outcome(False, f"no answer from the provider within {TIMEOUT:.0f} s", _NETWORK, where)
    finally:
        await provider.close()
    return Outcome(True, f"{listed}; {model.default} answered")


def _key_field(provider: str) -> str:
    if provider == "custom":
        return "model.api_key"
    if provider == "bedrock":
        return "provider_keys.aws_secret_access_key"
    return f"provider_keys.{provider}_api_key"


async def _one_completion(provider: Any, model: str) -> None:
    from hermes.agent.messages import Message, SystemPrompt
    from hermes.agent.providers.base import Finish, ProviderRequest

    request = ProviderRequest(
        model=model,
        system=SystemPrompt("This is a connection test. Reply with one word."),
        messages=[Message(role="user", content="ping")],
        max_tokens=8,
    )
    async for event in provider.stream(request):
        if isinstance(event, Finish):
            return


_NETWORK = "check the address and that this machine can reach it"


def _provider_failure(exc: Any, stage: str, key_field: str, provider: str) -> Outcome:
    status = exc.status
    if status in (401, 403):
        return Outcome(False, exc.message, "paste the key again, or create a new one", key_field)
    if stage == "model" and status in (400, 404, 422):
        return Outcome(False, exc.message, "check the model id against the provider's list", "model.default")
    if status is None or status == 404:
        suspect = "model.base_url" if provider == "custom" else None
        fix = "check the base URL (Ollama: http://127.0.0.1:11434)" if suspect else _NETWORK
        return Outcome(False, exc.message, fix, suspect)
    return Outcome(False, exc.message, "try again in a moment; the provider had a problem")


# -- Matrix ----------------------------------------------------------------------------------------------


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return body if isinstance(body, dict) else {}


def _matrix_error(body: Mapping[str, Any], status: int) -> str:
    code, text = body.get("errcode"), body.get("error")
    return f"{code}: {text}" if code and text else str(code or text or f"HTTP {status}")


async def _matrix_reachable(session: aiohttp.ClientSession, homeserver: str) -> Outcome | None:
    """None when a Matrix server answers at `homeserver`; else what is wrong with the address."""
    url = f"{homeserver}/_matrix/client/versions"
    try:
        async with session.get(url) as response:
            body = await _json(response)
            if response.status == 200 and isinstance(body.get("versions"), list):
                return None
            problem = f"{homeserver} answered HTTP {response.status}, not as a Matrix homeserver"
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        problem = f"cannot reach {homeserver}: {exc or type(exc).__name__}"
    fix = "give the homeserver's client address, e.g. https://matrix.example.org (Element shows it)"
    return Outcome(False, problem, fix, "matrix.homeserver")


async def check_matrix_token(homeserver: str, token: str) -> Outcome:
    async with _session() as session:
        unreachable = await _matrix_reachable(session, homeserver)
        if unreachable is not None:
            return unreachable
        headers = {"Authorization": f"Bearer {token}"}
        try:
            whoami = f"{homeserver}/_matrix/client/v3/account/whoami"
            async with session.get(whoami, headers=headers) as response:
                body = await _json(response)
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return Outcome(False, f"cannot reach {homeserver}: {exc}", _NETWORK, "matrix.homeserver")
    if status == 200 and isinstance(body.get("user_id"), str):
        user, device = body["user_id"], body.get("device_id") or "?"
        return Outcome(True, f"signed in as {user} (device {device})", facts={"user_id": user})
    return Outcome(
        False,
        f"the homeserver refused the access token ({_matrix_error(body, status)})",
        "copy a fresh token: Element → Settings → Help & About → Advanced → Access Token",
        "matrix.access_token",
    )


async def check_matrix_password(homeserver: str, user_id: str, password: str) -> Outcome:
    request = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
        "initial_device_display_name": CHECK_DEVICE_NAME,
    }
    async with _session() as session:
        unreachable = await _matrix_reachable(session, homeserver)
        if unreachable is not None:
            return unreachable
        try:
            async with session.post(f"{homeserver}/_matrix/client/v3/login", json=request) as response:
                body = await _json(response)
                status = response.status
            if status == 200 and body.get("access_token"):
                # The check's own device goes at once: the gateway logs in for itself when it starts.
                headers = {"Authorization": f"Bearer {body['access_token']}"}
                async with session.post(f"{homeserver}/_matrix/client/v3/logout", headers=headers, json={}):
                    pass
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return Outcome(False, f"cannot reach {homeserver}: {exc}", _NETWORK, "matrix.homeserver")
    if status == 200 and isinstance(body.get("user_id"), str):
        return Outcome(True, f"password accepted for {body['user_id']}", facts={"user_id": body["user_id"]})
    error = _matrix_error(body, status)
    if status == 429:
        return Outcome(False, f"the homeserver is limiting logins ({error})", "wait a minute, check again")
    if body.get("errcode") == "M_USER_DEACTIVATED":
        return Outcome(False, f"{user_id} is deactivated", "use another account", "matrix.user_id")
    return Outcome(
        False,
        f"the homeserver refused the login for {user_id} ({error})",
        "check the password (and the user id: @name:server)",
        "matrix.password",
    )


# -- Mattermost -----------------------------------------------------------------------------------------


async def _mattermost_get(url: str, token: str, path: str) -> tuple[int, dict[str, Any]]:
    async with (
        _session() as session,
        session.get(f"{url}/api/v4{path}", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        return response.status, await _json(response)


async def check_mattermost(url: str, token: str) -> Outcome:
    try:
        status, body = await _mattermost_get(url, token, "/users/me")
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        fix = "give the address you open Mattermost at, e.g. https://mm.example.com"
        return Outcome(False, f"cannot reach {url}: {exc or type(exc).__name__}", fix, "mattermost.url")
    if status == 200 and isinstance(body.get("id"), str):
        username = str(body.get("username", "?"))
        facts = {"user_id": body["id"], "username": username}
        return Outcome(True, f"signed in as @{username} at {url}", facts=facts)
    if status == 401:
        return Outcome(
            False,
            f"the server refused the token ({body.get('message') or 'HTTP 401'})",
            "copy the bot's token again (Integrations → Bot Accounts), or create a new one",
            "mattermost.token",
        )
    return Outcome(
        False,
        f"{url} answered HTTP {status}, not as a Mattermost server",
        "give the address you open Mattermost at, without /api/v4",
        "mattermost.url",
    )


async def mattermost_user_ids(url: str, token: str, entries: list[str]) -> tuple[list[str], list[str]]:
    """User ids for `entries` (ids, `@usernames` or usernames), and one problem line per entry not found."""
    ids: list[str] = []
    problems: list[str] = []
    for entry in entries:
        name = entry.removeprefix("@")
        path = f"/users/{name}" if MATTERMOST_ID.match(entry) else f"/users/username/{quote(name.lower())}"
        try:
            status, body = await _mattermost_get(url, token, path)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            problems.append(f"cannot look up {entry}: {exc}")
            continue
        if status == 200 and isinstance(body.get("id"), str):
            ids.append(body["id"])
        else:
            problems.append(f"no user {entry} on {url}")
    return ids, problems


# -- the API server -------------------------------------------------------------------------------------


def check_port(host: str, port: int) -> Outcome:
    """Whether the API server could listen there now (a gateway already running there holds it)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return Outcome(False, f"{host} is not an address of this machine ({exc})", None, "api_server.host")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return Outcome(
                False,
                f"cannot listen on {host}:{port} ({exc.strerror})",
                "fine if a gateway already runs there; otherwise pick another port",
                "api_server.port",
            )
    return Outcome(True, f"{host}:{port} is free")
