"""The API server's part of `hermes gateway setup`: where it listens (checked: is the port free?) and its
key (kept when good, else generated)."""

from __future__ import annotations

import socket
from typing import Any

from hermes.platforms.api_server.keys import key_problem, new_key
from hermes.platforms.api_server.settings import ApiServerSettings
from hermes.platforms.base import Check
from hermes.platforms.wizard import Flag, Question, SetupForm, SetupStopped, WizardSection


def check_port(host: str, port: int) -> Check:
    """Whether the API server could listen there now (a gateway already running there holds it)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return Check(False, f"{host} is not an address of this machine ({exc})", None, "api_server.host")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return Check(
                False,
                f"cannot listen on {host}:{port} ({exc.strerror})",
                "fine if a gateway already runs there; otherwise pick another port",
                "api_server.port",
            )
    return Check(True, f"{host}:{port} is free")


def _api_key(raw: str) -> str:
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


def run(form: SetupForm, current: ApiServerSettings) -> dict[str, Any]:
    form.ui.say("\nAPI server (OpenAI-compatible, for other programs)")
    host = Question(
        "api_server.host",
        "Listen on address",
        "--api-server-host",
        explain="  127.0.0.1 keeps it on this machine; the key is all that protects it otherwise.",
    )
    port = Question("api_server.port", "Port", "--api-server-port", parse=_port)
    form.ask(host, current.host)
    form.ask(port, str(current.port))
    keep = current.key if current.key and key_problem(current.key) is None else None
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
    if form.checks:
        outcome = check_port(form.answers["api_server.host"], form.answers["api_server.port"])
        if outcome.ok:
            form.ui.ok(outcome.label)
        else:
            form.ui.fail(outcome.label, outcome.fix)
    return {
        "api_server.enabled": True,
        "api_server.host": form.answers["api_server.host"],
        "api_server.port": form.answers["api_server.port"],
        "api_server.key": key,
    }


def next_steps(current: ApiServerSettings) -> str:
    host = f"[{current.host}]" if ":" in current.host else current.host
    return (
        f"The API (OpenAI-compatible), once the gateway runs: http://{host}:{current.port}/v1\n"
        "  hermes api key            prints the key clients send as `Authorization: Bearer <key>`\n"
        "  docs/api.md               endpoints, sessions, errors, examples (curl, openai SDK, Open WebUI)"
    )


WIZARD = WizardSection(
    hint="OpenAI-compatible HTTP on this machine",
    flags=(
        Flag("--api-server-host", "api_server.host"),
        Flag("--api-server-port", "api_server.port", is_int=True),
        Flag("--api-server-key", "api_server.key", "Default: keep the current one or generate one."),
    ),
    run=run,
    next_steps=next_steps,
)
