"""Mattermost's part of `hermes gateway setup`: the server, the bot's token checked live, the reply mode
and who may talk to the bot (usernames looked up on the server and written as ids)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from hermes.platforms.base import Check
from hermes.platforms.mattermost.settings import MattermostSettings
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
MATTERMOST_ID = re.compile(r"^[a-z0-9]{26}$")
_NETWORK = "check the address and that this machine can reach it"
_WHO = """  Who may talk to the bot? Mattermost usernames (@alice) or user ids, comma-separated.
  Your user id is in Mattermost under your avatar → Profile: 26 letters and digits, not your @name.
  Usernames are looked up on the server and written as ids."""


async def _get(url: str, token: str, path: str) -> tuple[int, dict[str, Any]]:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{url}/api/v4{path}", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        try:
            body = await response.json(content_type=None)
        except (ValueError, aiohttp.ContentTypeError):
            body = {}
        return response.status, body if isinstance(body, dict) else {}


async def check_token(url: str, token: str) -> Check:
    try:
        status, body = await _get(url, token, "/users/me")
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        fix = "give the address you open Mattermost at, e.g. https://mm.example.com"
        return Check(False, f"cannot reach {url}: {exc or type(exc).__name__}", fix, "mattermost.url")
    if status == 200 and isinstance(body.get("id"), str):
        username = str(body.get("username", "?"))
        facts = {"user_id": body["id"], "username": username}
        return Check(True, f"signed in as @{username} at {url}", facts=facts)
    if status == 401:
        return Check(
            False,
            f"the server refused the token ({body.get('message') or 'HTTP 401'})",
            "copy the bot's token again (Integrations → Bot Accounts), or create a new one",
            "mattermost.token",
        )
    return Check(
        False,
        f"{url} answered HTTP {status}, not as a Mattermost server",
        "give the address you open Mattermost at, without /api/v4",
        "mattermost.url",
    )


async def user_ids(url: str, token: str, entries: list[str]) -> tuple[list[str], list[str]]:
    """User ids for `entries` (ids, `@usernames` or usernames), and one problem line per entry not found."""
    ids: list[str] = []
    problems: list[str] = []
    for entry in entries:
        name = entry.removeprefix("@")
        path = f"/users/{name}" if MATTERMOST_ID.match(entry) else f"/users/username/{quote(name.lower())}"
        try:
            status, body = await _get(url, token, path)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            problems.append(f"cannot look up {entry}: {exc}")
            continue
        if status == 200 and isinstance(body.get("id"), str):
            ids.append(body["id"])
        else:
            problems.append(f"no user {entry} on {url}")
    return ids, problems


def _url(raw: str) -> str:
    return parse_url(raw).removesuffix("/api/v4")


Lookup = Callable[[list[str]], tuple[list[str], list[str]]]


def _users(raw: str, lookup: Lookup | None) -> list[str]:
    entries = split_list(raw)
    if lookup is None:
        names = [entry for entry in entries if not MATTERMOST_ID.match(entry)]
        if names:
            raise ValueError(
                f"{', '.join(names)}: without a working server check only 26-character user ids can be used"
            )
        return entries
    ids, problems = lookup(entries)
    if problems:
        raise ValueError("; ".join(problems))
    return list(dict.fromkeys(ids))


def run(form: SetupForm, current: MattermostSettings) -> dict[str, Any]:
    form.ui.say("\nMattermost")
    url = Question(
        "mattermost.url",
        "Server URL",
        "--mattermost-url",
        explain="  The address you open Mattermost at, e.g. https://mm.example.com.",
        parse=_url,
    )
    token = Question(
        "mattermost.token",
        "Bot token",
        "--mattermost-token",
        explain="  Create the bot under Integrations → Bot Accounts; Mattermost shows its token once.",
        secret=True,
    )
    form.ask(url, as_default(current.url))
    form.ask(token, as_default(current.token))

    def check() -> Check:
        return asyncio.run(check_token(form.answers["mattermost.url"], form.answers["mattermost.token"]))

    checked = form.verify("the Mattermost bot", check, [Fix("The server URL", url), Fix("The token", token)])
    mode = form.choose(
        "mattermost.reply_mode",
        "Where should the bot answer in channels?",
        "--mattermost-reply-mode",
        [Choice("off", "In the channel"), Choice("thread", "In a thread under the message")],
        default=current.reply_mode,
    )

    def lookup(entries: list[str]) -> tuple[list[str], list[str]]:
        answers = form.answers
        return asyncio.run(user_ids(answers["mattermost.url"], answers["mattermost.token"], entries))

    allowed = Question(
        "mattermost.allowed_users",
        "Allowed users",
        "--mattermost-allowed-users",
        explain=_WHO,
        optional=True,
        parse=lambda raw: _users(raw, lookup if checked is not None else None),
    )
    while not form.ask(allowed, as_default(current.allowed_users)) and not confirm_nobody(form, "Mattermost"):
        pass
    keys = ("mattermost.url", "mattermost.token", "mattermost.allowed_users")
    return {**{key: form.answers[key] for key in keys}, "mattermost.reply_mode": mode}


WIZARD = WizardSection(
    hint="a bot account with a token",
    flags=(
        Flag("--mattermost-url", "mattermost.url"),
        Flag("--mattermost-token", "mattermost.token"),
        Flag("--mattermost-reply-mode", "mattermost.reply_mode", "off or thread."),
        Flag(
            "--mattermost-allowed-users",
            "mattermost.allowed_users",
            "Comma-separated user ids or @usernames.",
        ),
    ),
    run=run,
)
