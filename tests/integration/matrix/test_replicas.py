"""Two `hermes gateway run` replicas on one PostgreSQL database and the real Synapse, one bot account and
device, end-to-end encryption required: the holder of the Matrix lease is killed mid-reply, and the
standby, sharing the crypto store through the database, takes over, reads what was sent meanwhile (the
encrypted messages included) and answers each message once, in replies the user can decrypt."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.llm import Text
from tests.harness.gateway import HERMES, GatewayProcess, start_gateway_process, wait_for_log
from tests.harness.matrix_user import MatrixHuman, MatrixHumans
from tests.harness.postgres_server import PostgresServer
from tests.harness.replicas import inbox_settled
from tests.harness.synapse_server import SynapseServer, http_json
from tests.integration.matrix.conftest import MatrixBot, latest_text, open_dm, replies_from
from tests.integration.matrix.e2ee import assert_no_plaintext, open_encrypted_dm

pytestmark = pytest.mark.synapse

CONNECTED = "matrix: connected"
E2EE_ON = re.compile(r"matrix: end-to-end encryption on \(device (\S+), ed25519 key (\S+)\)")


@contextlib.asynccontextmanager
async def two_replicas(
    bot: MatrixBot,
    postgres: PostgresServer,
    alice: MatrixHuman,
    lease_seconds: float,
    env: dict[str, str] | None = None,
) -> AsyncIterator[tuple[str, GatewayProcess, GatewayProcess]]:
    """Two homes configured alike (two hosts) sharing one new database: the first replica holds Matrix,
    the second has started and stands by. Both are killed, and the database dropped, after."""
    url = postgres.create_database()
    bot.configure(
        allowed=[alice.user_id],
        config={"store": {"lease_seconds": lease_seconds}},
        env={"HERMES_DATABASE_URL": url, "MATRIX_E2EE_MODE": "required", **(env or {})},
    )
    standby_home = bot.home.with_name("standby-home")
    shutil.copytree(bot.home, standby_home)
    holder = start_gateway_process(bot.home)
    standby = None
    try:
        await wait_for_log(holder, CONNECTED)
        standby = start_gateway_process(standby_home)
        await wait_for_log(standby, "platforms are shared through leases")
        yield url, holder, standby
    finally:
        for process in (holder, standby):
            if process is not None and process.proc.poll() is None:
                process.kill()
        postgres.drop_database(url)
        shutil.rmtree(standby_home, ignore_errors=True)


def devices(bot: MatrixBot) -> list[str]:
    url = f"{bot.server.base_url}/_matrix/client/v3/devices"
    status, body = http_json("GET", url, token=bot.account.access_token)
    assert status == 200, body
    return [device["device_id"] for device in body["devices"]]


def identity(process: GatewayProcess) -> tuple[str, str]:
    found = E2EE_ON.search(process.log())
    assert found is not None, process.log()
    return found.group(1), found.group(2)


async def matrix_status(home: Path) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MATRIX_")}
    done = await asyncio.to_thread(
        subprocess.run,
        [HERMES, "matrix", "status"],
        env={**env, "HERMES_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_standby_takes_over_a_killed_holder_in_encrypted_and_plain_rooms_answering_once(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot, postgres: PostgresServer
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    story = " ".join(f"word{i}" for i in range(80))
    async with two_replicas(bot, postgres, alice, lease_seconds=2) as (url, holder, standby):
        secret_room = await open_encrypted_dm(alice, bot.user_id)
        plain_room = await open_dm(alice, bot.user_id)
        hello = await alice.send_text(secret_room, "hello in secret")
        await alice.wait_for_message(secret_room, after=hello, sender=bot.user_id)
        plain_hello = await alice.send_text(plain_room, "hello in the open")
        await alice.wait_for_message(plain_room, after=plain_hello, sender=bot.user_id)
        await inbox_settled(url)
        # The standby has not touched Matrix, nor the crypto store, while it does not hold the lease.
        assert CONNECTED not in standby.log() and not E2EE_ON.search(standby.log())

        bot.llm.instant = False
        bot.llm.script(Text(story, chunk_delay=0.05), Text("the whole story, told by the standby"))
        asked = await alice.send_text(secret_room, "tell me a story")
        cut = await alice.wait_for_message(secret_room, after=asked, sender=bot.user_id)
        await alice.wait_for_edit(secret_room, cut.event_id or "")
        holder.kill()
        bot.llm.instant = True
        gap_secret = await alice.send_text(secret_room, "sent in secret while nobody held matrix")
        gap_plain = await alice.send_text(plain_room, "sent in the open while nobody held matrix")

        await wait_for_log(standby, CONNECTED, timeout=20)
        await alice.wait_for_edit(
            secret_room,
            cut.event_id or "",
            lambda e: e.content["m.new_content"]["body"] == "the whole story, told by the standby",
            timeout=20,
        )
        await alice.wait_for_message(secret_room, after=gap_secret, sender=bot.user_id, timeout=20)
        await alice.wait_for_message(plain_room, after=gap_plain, sender=bot.user_id, timeout=20)
        after = await alice.send_text(secret_room, "and after the takeover")
        await alice.wait_for_message(secret_room, after=after, sender=bot.user_id)
        await inbox_settled(url)
        status = await matrix_status(standby.home)
        identities = identity(holder), identity(standby)

    # One device, one identity: the standby opened the holder's crypto store from the database.
    assert identities[0] == identities[1] and identities[0][0] == bot.account.device_id
    secret_replies = replies_from(alice, secret_room, bot.user_id)
    assert all(reply.encrypted for reply in secret_replies)
    assert [latest_text(alice, secret_room, reply) for reply in secret_replies] == [
        "hello in secret",
        "the whole story, told by the standby",
        "sent in secret while nobody held matrix",
        "and after the takeover",
    ]
    assert secret_replies[1].event_id == cut.event_id
    assert [reply.body for reply in replies_from(alice, plain_room, bot.user_id)] == [
        "hello in the open",
        "sent in the open while nobody held matrix",
    ]
    # The LLM saw the decrypted text; the cut story was asked twice (once per replica), the rest once.
    assert sorted(r.last_user_text for r in bot.llm.chat_requests) == sorted(
        [
            "hello in secret",
            "hello in the open",
            "tell me a story",
            "tell me a story",
            "sent in secret while nobody held matrix",
            "sent in the open while nobody held matrix",
            "and after the takeover",
        ]
    )
    await assert_no_plaintext(synapse, alice, secret_room, bot.user_id)
    assert "crypto store    schema matrix_crypto of the PostgreSQL store" in status
    assert "in use          yes, by a running gateway" in status
    assert "keys on server  match the local identity keys" in status


async def test_with_a_password_login_the_standby_logs_in_to_the_holders_device(
    synapse: SynapseServer, matrix_humans: MatrixHumans, bot: MatrixBot, postgres: PostgresServer
) -> None:
    alice = await matrix_humans.new(synapse, encryption=True, prefix="alice")
    # No token and no MATRIX_DEVICE_ID: each home would log in to a device of its own.
    password_login = {
        "MATRIX_ACCESS_TOKEN": "",
        "MATRIX_USER_ID": bot.user_id,
        "MATRIX_PASSWORD": bot.account.password,
    }
    async with two_replicas(bot, postgres, alice, lease_seconds=2, env=password_login) as (
        _,
        holder,
        standby,
    ):
        room = await open_encrypted_dm(alice, bot.user_id)
        hello = await alice.send_text(room, "hello")
        await alice.wait_for_message(room, after=hello, sender=bot.user_id)
        holder.kill()
        again = await alice.send_text(room, "still there?")
        await wait_for_log(standby, CONNECTED, timeout=20)
        await alice.wait_for_message(room, after=again, sender=bot.user_id, timeout=20)
        identities = identity(holder), identity(standby)
    assert identities[0] == identities[1] and identities[0][0] != bot.account.device_id
    assert [reply.body for reply in replies_from(alice, room, bot.user_id)] == ["hello", "still there?"]
    assert sorted(devices(bot)) == sorted([bot.account.device_id, identities[0][0]])
