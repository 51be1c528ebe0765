"""The wizard's platform parts: Matrix, Mattermost and the API server, each asked and checked live."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hermes.cli.setup_checks import (
    Outcome,
    check_matrix_password,
    check_matrix_token,
    check_mattermost,
    check_port,
    mattermost_user_ids,
)
from hermes.cli.setup_form import Fix, Form, Question, SetupStopped, as_default
from hermes.cli.setup_model import parse_url
from hermes.cli.terminal import Choice
from hermes.config.settings import Settings

MATRIX_ID = re.compile(r"^@[^:\s]+:[^\s]+$")


def split_list(raw: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,\s]+", raw) if item.strip()]


def parse_matrix_user(raw: str) -> str:
    user = raw.strip()
    if not MATRIX_ID.match(user):
        raise ValueError(f"{raw!r} is not a Matrix user id; they look like @name:example.org")
    return user


def _confirm_nobody(form: Form, platform: str) -> bool:
    """An empty allowlist is allowed (deny by default), but a person is told what it means."""
    if not form.interactive:
        form.ui.say(f"  Nobody is allowed to talk to the bot on {platform} yet.")
        return True
    return form.ui.confirm(f"Nobody will be able to talk to the bot on {platform}. Leave it like that?")


# -- Matrix ----------------------------------------------------------------------------------------------

_MATRIX_WHO = """  Who may talk to the bot? Give Matrix user ids, separated by commas.
  Yours is shown in Element under Settings (click your avatar): it looks like @alice:example.org.
  A bare name (alice) is completed with the bot's server."""


def matrix_section(form: Form, current: Settings) -> dict[str, Any]:
    form.ui.say("\nMatrix")
    matrix = current.matrix
    homeserver = Question(
        "matrix.homeserver",
        "Homeserver URL",
        "--matrix-homeserver",
        explain="  The bot account's homeserver, e.g. https://matrix.example.org.",
        parse=parse_url,
    )
    form.ask(homeserver, as_default(matrix.homeserver))
    login_default = "password" if matrix.password and not matrix.access_token else "token"
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
        form.ask(token, as_default(matrix.access_token))
        fixes.append(Fix("The access token", token))

        def check() -> Outcome:
            answers = form.answers
            return asyncio.run(
                check_matrix_token(answers["matrix.homeserver"], answers["matrix.access_token"])
            )
    else:
        user = Question("matrix.user_id", "The bot's user id", "--matrix-user-id", parse=parse_matrix_user)
        password = Question("matrix.password", "The bot's password", "--matrix-password", secret=True)
        form.ask(user, as_default(matrix.user_id))
        form.ask(password, as_default(matrix.password))
        fixes += [Fix("The user id", user), Fix("The password", password)]

        def check() -> Outcome:
            answers = form.answers
            return asyncio.run(
                check_matrix_password(
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
        explain=_MATRIX_WHO,
        optional=True,
        parse=lambda raw: _matrix_users(raw, server),
    )
    while not form.ask(allowed, as_default(matrix.allowed_users)) and not _confirm_nobody(form, "Matrix"):
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


def _matrix_users(raw: str, server: str | None) -> list[str]:
    users = []
    for item in split_list(raw):
        if not item.startswith("@") and ":" not in item and server:
            item = f"@{item}:{server}"
        users.append(parse_matrix_user(item))
    return users


# -- Mattermost -----------------------------------------------------------------------------------------

_MATTERMOST_WHO = """  Who may talk to the bot? Mattermost usernames (@alice) or user ids, comma-separated.
  Your user id is in Mattermost under your avatar → Profile: 26 letters and digits, not your @name.
  Usernames are looked up on the server and written as ids."""


def _mattermost_url(raw: str) -> str:
    return parse_url(raw).removesuffix("/api/v4")


def mattermost_section(form: Form, current: Settings) -> dict[str, Any]:
    form.ui.say("\nMattermost")
    mm = current.mattermost
    url = Question(
        "mattermost.url",
        "Server URL",
        "--mattermost-url",
        explain="  The address you open Mattermost at, e.g. https://mm.example.com.",
        parse=_mattermost_url,
    )
    token = Question(
        "mattermost.token",
        "Bot token",
        "--mattermost-token",
        explain="  Create the bot under Integrations → Bot Accounts; Mattermost shows its token once.",
        secret=True,
    )
    form.ask(url, as_default(mm.url))
    form.ask(token, as_default(mm.token))

    def check() -> Outcome:
        return asyncio.run(check_mattermost(form.answers["mattermost.url"], form.answers["mattermost.token"]))

    checked = form.verify("the Mattermost bot", check, [Fix("The server URL", url), Fix("The token", token)])
    mode = form.choose(
        "mattermost.reply_mode",
        "Where should the bot answer in channels?",
        "--mattermost-reply-mode",
        [Choice("off", "In the channel"), Choice("thread", "In a thread under the message")],
        default=mm.reply_mode,
    )
    lookup = _user_lookup(form) if checked is not None else None
    allowed = Question(
        "mattermost.allowed_users",
        "Allowed users",
        "--mattermost-allowed-users",
        explain=_MATTERMOST_WHO,
        optional=True,
        parse=lambda raw: _mattermost_users(raw, lookup),
    )
    while not form.ask(allowed, as_default(mm.allowed_users)) and not _confirm_nobody(form, "Mattermost"):
        pass
    keys = ("mattermost.url", "mattermost.token", "mattermost.allowed_users")
    return {**{key: form.answers[key] for key in keys}, "mattermost.reply_mode": mode}


Lookup = Callable[[list[str]], tuple[list[str], list[str]]]


def _user_lookup(form: Form) -> Lookup:
    def lookup(entries: list[str]) -> tuple[list[str], list[str]]:
        url, token = form.answers["mattermost.url"], form.answers["mattermost.token"]
        return asyncio.run(mattermost_user_ids(url, token, entries))

    return lookup


def _mattermost_users(raw: str, lookup: Lookup | None) -> list[str]:
    from hermes.cli.setup_checks import MATTERMOST_ID

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


# -- the API server -------------------------------------------------------------------------------------


def _api_key(raw: str) -> str:
    from hermes.platforms.api_server.keys import key_problem

    problem = key_problem(raw)
    if problem is not None:
        raise ValueError(f"the key is {problem}")
    return raw


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{port} is not a port number (1 to 65535)")
    return port


def api_server_section(form: Form, current: Settings) -> dict[str, Any]:
    from hermes.platforms.api_server.keys import key_problem, new_key

    form.ui.say("\nAPI server (OpenAI-compatible, for other programs)")
    api = current.api_server
    host = Question(
        "api_server.host",
        "Listen on address",
        "--api-server-host",
        explain="  127.0.0.1 keeps it on this machine; the key is all that protects it otherwise.",
    )
    port = Question("api_server.port", "Port", "--api-server-port", parse=_port)
    form.ask(host, api.host)
    form.ask(port, str(api.port))
    keep = api.key if api.key and key_problem(api.key) is None else None
    flagged = form.given.get("api_server.key")
    try:
        key = _api_key(flagged) if flagged else keep or new_key()
    except ValueError as exc:
        raise SetupStopped(f"--api-server-key: {exc}", 2) from None
    form.ui.say(
        "  Keeping the current API key (API_SERVER_KEY)."
        if key == keep
        else "  A new API key goes into .env as API_SERVER_KEY; clients send it as a Bearer token."
    )

    def check() -> Outcome:
        return check_port(form.answers["api_server.host"], form.answers["api_server.port"])

    if form.checks:
        outcome = check()
        if outcome.ok:
            form.ui.ok(outcome.message)
        else:
            form.ui.fail(outcome.message, outcome.fix)
    return {
        "api_server.enabled": True,
        "api_server.host": form.answers["api_server.host"],
        "api_server.port": form.answers["api_server.port"],
        "api_server.key": key,
    }


@dataclass(frozen=True)
class PlatformSection:
    name: str
    label: str
    hint: str
    run: Callable[[Form, Settings], dict[str, Any]]

    def configured(self, settings: Settings) -> bool:
        if self.name == "api_server":
            return settings.api_server.enabled
        section = getattr(settings, self.name)
        return bool(getattr(section, "configured", False))


SECTIONS = (
    PlatformSection("matrix", "Matrix", "a bot account on any homeserver", matrix_section),
    PlatformSection("mattermost", "Mattermost", "a bot account with a token", mattermost_section),
    PlatformSection("api_server", "API server", "OpenAI-compatible HTTP on this machine", api_server_section),
)
