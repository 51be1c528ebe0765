"""The echo platform's part of `hermes gateway setup`."""

from __future__ import annotations

from typing import Any

from hermes.platforms.base import Check
from hermes.platforms.wizard import Flag, Question, SetupForm, WizardSection, as_default, split_list
from hermes_echo.settings import EchoSettings

MIN_TOKEN = 12


def check_token(token: str) -> Check:
    if len(token) < MIN_TOKEN:
        return Check(
            False, f"the token has {len(token)} characters", f"use {MIN_TOKEN} or more", "echo.token"
        )
    return Check(True, "the token is long enough")


def run(form: SetupForm, current: EchoSettings) -> dict[str, Any]:
    form.ui.say("\nEcho")
    token = Question("echo.token", "Token", "--echo-token", secret=True)
    users = Question("echo.allowed_users", "Allowed users", "--echo-allowed-users", parse=split_list)
    form.ask(token, as_default(current.token))
    form.verify("the echo token", lambda: check_token(form.answers["echo.token"]), [])
    form.ask(users, as_default(current.allowed_users))
    return {key: form.answers[key] for key in ("echo.token", "echo.allowed_users")}


WIZARD = WizardSection(
    hint="people post over a small HTTP API",
    flags=(
        Flag("--echo-token", "echo.token", "The Bearer token people post with."),
        Flag("--echo-allowed-users", "echo.allowed_users", "Comma-separated."),
    ),
    run=run,
)
