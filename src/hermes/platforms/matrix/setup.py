"""Matrix's part of `hermes gateway setup`: the homeserver, how the bot signs in (token or password),
both checked live, and who may talk to the bot.

Nothing here writes anything: a password is checked with a throwaway login that is logged out at once,
so the gateway's own session and a daemon already running are left alone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from hermes.platforms.base import Check
from hermes.platforms.matrix.settings import MatrixSettings
from hermes.platforms.wizard import (
    Choice,
    Fix,
    Flag,
    Question,
    SetupForm,
    WizardSection,
    as_default,
    confirm_nobody,
    parse_url,
    split_list,
)

TIMEOUT = 15.0
CHECK_DEVICE_NAME = "Hermes setup check"
MATRIX_ID = re.compile(r"^@[^:\s]+:[^\s]+$")
_NETWORK = "check the address and that this machine can reach it"
_WHO = """  Who may talk to the bot? Give Matrix user ids, separated by commas.
  Yours is shown in Element under Settings (click your avatar): it looks like @alice:example.org.
  A bare name (alice) is completed with the bot's server."""


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return body if isinstance(body, dict) else {}


def _error(body: Mapping[str, Any], status: int) -> str:
    code, text = body.get("errcode"), body.get("error")
    return f"{code}: {text}" if code and text else str(code or text or f"HTTP {status}")


async def _reachable(session: aiohttp.ClientSession, homeserver: str) -> Check | None:
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
    return Check(False, problem, fix, "matrix.homeserver")


async def check_token(homeserver: str, token: str) -> Check:
    async with _session() as session:
        unreachable = await _reachable(session, homeserver)
        if unreachable is not None:
            return unreachable
        headers = {"Authorization": f"Bearer {token}"}
        try:
            whoami = f"{homeserver}/_matrix/client/v3/account/whoami"
            async with session.get(whoami, headers=headers) as response:
                body = await _json(response)
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return Check(False, f"cannot reach {homeserver}: {exc}", _NETWORK, "matrix.homeserver")
    if status == 200 and isinstance(body.get("user_id"), str):
        user, device = body["user_id"], body.get("device_id") or "?"
        return Check(True, f"signed in as {user} (device {device})", facts={"user_id": user})
    return Check(
        False,
        f"the homeserver refused the access token ({_error(body, status)})",
        "copy a fresh token: Element → Settings → Help & About → Advanced → Access Token",
        "matrix.access_token",
    )


async def check_password(homeserver: str, user_id: str, password: str) -> Check:
    request = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
        "initial_device_display_name": CHECK_DEVICE_NAME,
    }
    async with _session() as session:
        unreachable = await _reachable(session, homeserver)
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
            return Check(False, f"cannot reach {homeserver}: {exc}", _NETWORK, "matrix.homeserver")
    if status == 200 and isinstance(body.get("user_id"), str):
        return Check(True, f"password accepted for {body['user_id']}", facts={"user_id": body["user_id"]})
    error = _error(body, status)
    if status == 429:
        return Check(False, f"the homeserver is limiting logins ({error})", "wait a minute, check again")
    if body.get("errcode") == "M_USER_DEACTIVATED":
        return Check(False, f"{user_id} is deactivated", "use another account", "matrix.user_id")
    return Check(
        False,
        f"the homeserver refused the login for {user_id} ({error})",
        "check the password (and the user id: @name:server)",
        "matrix.password",
    )


def parse_user(raw: str) -> str:
    user = raw.strip()
    if not MATRIX_ID.match(user):
        raise ValueError(f"{raw!r} is not a Matrix user id; they look like @name:example.org")
    return user


def _users(raw: str, server: str | None) -> list[str]:
    users = []
    for item in split_list(raw):
        if not item.startswith("@") and ":" not in item and server:
            item = f"@{item}:{server}"
        users.append(parse_user(item))
    return users


def run(form: SetupForm, current: MatrixSettings) -> dict[str, Any]:
    form.ui.say("\nMatrix")
    homeserver = Question(
        "matrix.homeserver",
        "Homeserver URL",
        "--matrix-homeserver",
        explain="  The bot account's homeserver, e.g. https://matrix.example.org.",
        parse=parse_url,
    )
    form.ask(homeserver, as_default(current.homeserver))
    login_default = "password" if current.password and not current.access_token else "token"
    if form.given.get("matrix.access_token"):
        login_default = "token"
    elif form.given.get("matrix.password"):
        login_default = "password"
    login = form.choose(
        "matrix.login",
        "How does the bot sign in?",
        "--matrix-login",
        [
            Choice("token", "Access token", "Element: Settings → Help & About → Advanced → Access Token"),
            Choice("password", "User id and password", "Hermes logs in when it starts and keeps the session"),
        ],
        default=login_default,
    )
    fixes = [Fix("The homeserver URL", homeserver)]
    if login == "token":
        token = Question("matrix.access_token", "Access token", "--matrix-access-token", secret=True)
        form.ask(token, as_default(current.access_token))
        fixes.append(Fix("The access token", token))

        def check() -> Check:
            answers = form.answers
            return asyncio.run(check_token(answers["matrix.homeserver"], answers["matrix.access_token"]))
    else:
        user = Question("matrix.user_id", "The bot's user id", "--matrix-user-id", parse=parse_user)
        password = Question("matrix.password", "The bot's password", "--matrix-password", secret=True)
        form.ask(user, as_default(current.user_id))
        form.ask(password, as_default(current.password))
        fixes += [Fix("The user id", user), Fix("The password", password)]

        def check() -> Check:
            answers = form.answers
            return asyncio.run(
                check_password(
                    answers["matrix.homeserver"], answers["matrix.user_id"], answers["matrix.password"]
                )
            )

    outcome = form.verify("the Matrix account", check, fixes)
    bot_id = (outcome.facts.get("user_id") if outcome else None) or form.answers.get("matrix.user_id")
    server = bot_id.split(":", 1)[1] if bot_id else None
    allowed = Question(
        "matrix.allowed_users",
        "Allowed users",
        "--matrix-allowed-users",
        explain=_WHO,
        optional=True,
        parse=lambda raw: _users(raw, server),
    )
    while not form.ask(allowed, as_default(current.allowed_users)) and not confirm_nobody(form, "Matrix"):
        pass
    kept = ("matrix.homeserver", "matrix.allowed_users")
    changes: dict[str, Any] = {key: form.answers[key] for key in kept}
    if login == "token":
        changes |= {"matrix.access_token": form.answers["matrix.access_token"], "matrix.password": None}
    else:
        changes |= {key: form.answers[key] for key in ("matrix.user_id", "matrix.password")}
        # A token, even an old one, would be used instead of the password.
        changes["matrix.access_token"] = None
    return changes


WIZARD = WizardSection(
    hint="a bot account on any homeserver",
    flags=(
        Flag("--matrix-homeserver", "matrix.homeserver"),
        Flag("--matrix-login", "matrix.login", "token or password."),
        Flag("--matrix-access-token", "matrix.access_token"),
        Flag("--matrix-user-id", "matrix.user_id", "The bot's @name:server."),
        Flag("--matrix-password", "matrix.password"),
        Flag("--matrix-allowed-users", "matrix.allowed_users", "Comma-separated."),
    ),
    run=run,
)
