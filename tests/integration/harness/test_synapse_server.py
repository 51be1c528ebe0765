"""The real-Synapse harness: servers, accounts, rate limits, failure reports."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.harness import synapse_server
from tests.harness.synapse import LOW_MESSAGE_RATE_LIMIT
from tests.harness.synapse_server import (
    SynapseFactory,
    SynapseRequestError,
    SynapseServer,
    SynapseStartError,
    free_port,
)

pytestmark = pytest.mark.synapse

REPO_ROOT = Path(__file__).resolve().parents[3]


async def call(
    server: SynapseServer, method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server.base_url + path, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def whoami(server: SynapseServer, token: str) -> tuple[int, Any]:
    return await call(server, "GET", "/_matrix/client/v3/account/whoami", token)


async def test_server_answers_versions_on_loopback(synapse: SynapseServer) -> None:
    status, body = await call(synapse, "GET", "/_matrix/client/versions")

    assert status == 200
    assert "v1.11" in body["versions"]
    assert synapse.base_url.startswith("http://127.0.0.1:")
    assert synapse.server_name == "localhost"
    assert synapse.running


async def test_registration_gives_a_working_token(synapse: SynapseServer) -> None:
    account = await synapse.register()

    status, body = await whoami(synapse, account.access_token)

    assert status == 200
    assert body["user_id"] == account.user_id
    assert body["device_id"] == account.device_id
    assert account.user_id == f"@{account.localpart}:localhost"


async def test_registration_honours_localpart_and_password(synapse: SynapseServer) -> None:
    account = await synapse.register("carol-explicit", "s3cret-pass")

    again = await synapse.login(account)

    assert account.user_id == "@carol-explicit:localhost"
    assert again.user_id == account.user_id
    assert again.password == "s3cret-pass"


async def test_taken_localpart_is_refused_clearly(synapse: SynapseServer) -> None:
    account = await synapse.register(prefix="taken")

    with pytest.raises(SynapseRequestError, match=account.localpart) as refused:
        await synapse.register(account.localpart)

    assert refused.value.status == 400
    assert refused.value.body["errcode"] == "M_USER_IN_USE"
    assert (await whoami(synapse, account.access_token))[0] == 200


async def test_login_opens_a_new_device(synapse: SynapseServer) -> None:
    account = await synapse.register()

    second = await synapse.login(account)

    assert second.device_id != account.device_id
    status, body = await whoami(synapse, second.access_token)
    assert (status, body["device_id"]) == (200, second.device_id)


async def test_login_with_a_wrong_password_is_refused(synapse: SynapseServer) -> None:
    account = await synapse.register()
    wrong = replace(account, password="not-the-password")

    with pytest.raises(SynapseRequestError, match="logging in") as refused:
        await synapse.login(wrong)

    assert refused.value.status == 403
    assert refused.value.body["errcode"] == "M_FORBIDDEN"


async def test_admin_account_is_a_server_admin_and_others_are_not(synapse: SynapseServer) -> None:
    admin = await synapse.admin()
    user = await synapse.register()
    path = f"/_synapse/admin/v2/users/{user.user_id}"

    status, body = await call(synapse, "GET", path, admin.access_token)
    refused_status, refused = await call(synapse, "GET", path, user.access_token)

    assert (status, body["admin"]) == (200, False)
    assert (refused_status, refused["errcode"]) == (403, "M_FORBIDDEN")
    assert await synapse.admin() == admin


async def test_twenty_users_register_quickly_and_independently(synapse: SynapseServer) -> None:
    accounts = await asyncio.gather(*(synapse.register() for _ in range(20)))

    answers = await asyncio.gather(*(whoami(synapse, account.access_token) for account in accounts))

    assert len({account.user_id for account in accounts}) == 20
    assert [(status, body["user_id"]) for status, body in answers] == [
        (200, account.user_id) for account in accounts
    ]


async def send_messages(
    server: SynapseServer, token: str, room_id: str, count: int, *, stop_at_429: bool = False
) -> list[tuple[int, Any]]:
    answers = []
    for txn in range(count):
        path = f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/t{txn}"
        answers.append(await call(server, "PUT", path, token, {"msgtype": "m.text", "body": f"m{txn}"}))
        if stop_at_429 and answers[-1][0] == 429:
            break
    return answers


async def test_ratelimited_server_answers_429_limit_exceeded(synapse_ratelimited: SynapseServer) -> None:
    account = await synapse_ratelimited.register()
    status, room = await call(
        synapse_ratelimited, "POST", "/_matrix/client/v3/createRoom", account.access_token, {}
    )
    assert status == 200

    # Synapse holds each over-limit request ~0.5 s before answering 429: stop at the first.
    answers = await send_messages(
        synapse_ratelimited, account.access_token, room["room_id"], 8, stop_at_429=True
    )

    assert answers[0][0] == 200
    status, limited = answers[-1]
    assert status == 429
    assert limited["errcode"] == "M_LIMIT_EXCEEDED"
    assert isinstance(limited["retry_after_ms"], int)
    assert limited["retry_after_ms"] > 0


async def test_shared_server_does_not_ratelimit_a_burst(synapse: SynapseServer) -> None:
    account = await synapse.register()
    _, room = await call(synapse, "POST", "/_matrix/client/v3/createRoom", account.access_token, {})

    answers = await send_messages(synapse, account.access_token, room["room_id"], 20)

    assert [status for status, _ in answers] == [200] * 20


def test_ratelimited_server_is_a_separate_server(
    synapse: SynapseServer, synapse_ratelimited: SynapseServer
) -> None:
    assert synapse_ratelimited.base_url != synapse.base_url
    assert synapse_ratelimited.overrides == LOW_MESSAGE_RATE_LIMIT


def test_factory_starts_one_server_per_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[SynapseServer] = []
    monkeypatch.setattr(SynapseServer, "start", lambda server: started.append(server))
    factory = SynapseFactory(tmp_path)
    overrides = {"rc_message": {"per_second": 1, "burst_count": 5}}

    limited = factory.start(overrides)
    default = factory.start()

    assert factory.start(dict(overrides)) is limited
    assert factory.start() is default
    assert started == [limited, default]
    assert limited.data_dir != default.data_dir
    factory.stop_all()


def test_a_port_taken_meanwhile_is_retried_and_the_server_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        ports = iter([taken_port])
        monkeypatch.setattr(synapse_server, "free_port", lambda: next(ports, None) or free_port())
        server = SynapseServer(tmp_path / "retry", {"rc_message": {"per_second": 1, "burst_count": 5}})
        try:
            server.start()
            account = server.register_sync()
            config = (server.data_dir / "homeserver.yaml").read_text()
        finally:
            server.stop()

    assert server.port != taken_port
    assert account.user_id.endswith(":localhost")
    assert "rc_message:\n  per_second: 1\n  burst_count: 5" in config
    assert not server.running
    assert server.exit_code == 0


def test_a_server_that_cannot_start_reports_its_output_and_log(tmp_path: Path) -> None:
    server = SynapseServer(tmp_path / "broken", {"database": {"name": "no-such-engine"}})

    with pytest.raises(SynapseStartError) as failure:
        server.start()

    report = str(failure.value)
    assert "Synapse exited with code" in report
    assert "no-such-engine" in report
    assert "--- log tail" in report
    assert not server.running


def test_synapse_is_started_to_die_with_its_parent(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import pathlib, subprocess, time
                from tests.harness.synapse_server import die_with_parent
                child = subprocess.Popen(["sleep", "60"], preexec_fn=die_with_parent)
                pathlib.Path({str(pid_file)!r}).write_text(str(child.pid))
                time.sleep(60)
                """
            ),
        ],
        cwd=REPO_ROOT,
    )
    try:
        deadline = time.monotonic() + 10
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the parent never started its child"
            time.sleep(0.02)
        child_pid = int(pid_file.read_text())
        assert process_alive(child_pid)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    deadline = time.monotonic() + 5
    while process_alive(child_pid):
        assert time.monotonic() < deadline, "the child outlived its killed parent"
        time.sleep(0.02)


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie waiting to be reaped by init counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
