"""`hermes store migrate --to postgresql://…`: a home's state.db copied into PostgreSQL, whole, verified,
and safe to run again."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

from hermes.store import NewMessage, Store
from tests.harness.gateway import HERMES
from tests.harness.postgres_server import PostgresServer


def hermes(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERMES_DATABASE_URL", "API_SERVER_"))}
    return subprocess.run(
        [HERMES, *args], env={**env, "HERMES_HOME": str(home)}, capture_output=True, text=True, timeout=60
    )


async def fill(state_db: Path) -> str:
    async with await Store.open(state_db) as store:
        session = await store.sessions.get_or_create("matrix:dm:@alice", platform="matrix", chat_id="!dm")
        await store.sessions.append(
            session.id, [NewMessage("user", "where is the lighthouse?"), NewMessage("assistant", "north")]
        )
        await store.inbox.accept("matrix", "$done", {"text": "hi"}, cursor="batch-7")
        await store.inbox.record_sent("matrix", "$done", 0, "$reply")
        await store.inbox.mark_done("matrix", "$done", ["$reply"])
        await store.inbox.accept("matrix", "$pending", {"text": "still to answer"}, cursor="batch-8")
        await store.jobs.create(
            name="daily",
            schedule_kind="cron",
            schedule_value="0 9 * * *",
            prompt="summarise",
            target={"platform": "matrix", "chat_id": "!home"},
            next_run_at=2e9,
        )
        await store.homes.set("matrix", "!home", set_by="@alice")
        return session.id


async def test_a_state_db_is_copied_whole_and_a_second_run_adds_nothing(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    home = tmp_path / "home"
    session_id = await fill(home / "state.db")
    url = postgres.create_database()
    try:
        first = hermes(home, "store", "migrate", "--to", url)
        assert first.returncode == 0, first.stderr
        assert "Verified:" in first.stdout and "messages: 2 new row(s)" in first.stdout

        again = hermes(home, "store", "migrate", "--to", url)
        assert again.returncode == 0, again.stderr
        assert "messages: 0 new row(s)" in again.stdout and "Verified:" in again.stdout

        async with await Store.open(url) as store:
            messages = await store.sessions.messages(session_id)
            assert [m.content for m in messages] == ["where is the lighthouse?", "north"]
            [hit] = await store.sessions.search("lighthouse")
            assert hit.session_id == session_id
            # Ids copied in explicitly: new messages still get ids after them.
            [added] = await store.sessions.append(session_id, [NewMessage("user", "and then?")])
            assert added.id > messages[-1].id
            assert [e.event_id for e in await store.inbox.pending()] == ["$pending"]
            assert await store.inbox.sent_chunks("matrix", "$done") == {0: "$reply"}
            assert await store.cursors.get("matrix") == "batch-8"
            assert [job.name for job in await store.jobs.all()] == ["daily"]
            home_channel = await store.homes.get("matrix")
            assert home_channel is not None and home_channel.chat_id == "!home"
    finally:
        postgres.drop_database(url)


async def test_bad_targets_and_a_running_gateway_are_refused_with_one_line(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    missing = hermes(home, "store", "migrate", "--to", postgres.url("hermes_nowhere"))
    assert missing.returncode == 1 and "state.db does not exist" in missing.stderr

    await fill(home / "state.db")
    not_postgres = hermes(home, "store", "migrate", "--to", "mysql://example")
    assert not_postgres.returncode == 2 and "postgresql://" in not_postgres.stderr

    unreachable = hermes(home, "store", "migrate", "--to", postgres.url("hermes_no_such_database"))
    assert unreachable.returncode == 1
    assert "cannot connect" in unreachable.stderr and "Traceback" not in unreachable.stderr

    with (home / "gateway.lock").open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(f"{os.getpid()}\n")
        held.flush()
        running = hermes(home, "store", "migrate", "--to", postgres.admin_url)
    assert running.returncode == 1 and "stop it first" in running.stderr
