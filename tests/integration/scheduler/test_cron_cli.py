"""`hermes cron ...` as a subprocess on the same state.db, with and without a running gateway."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path

import pytest

from hermes.store import Store
from tests.fakes.llm import FakeLLM, Text
from tests.harness.gateway import gateway_in_process, llm_config, write_home

LAUNCH = "from hermes.cli.cron import app; app(prog_name='hermes cron')"


async def cron(home: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LAUNCH,
        *args,
        env={**os.environ, "HERMES_HOME": str(home)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
def home(tmp_path: Path, llm: FakeLLM) -> Path:
    return write_home(
        tmp_path / "home",
        config={"model": llm_config(llm.base_url, max_retries=0), "gateway": {"plugins": ["hermes.testing"]}},
        env={"GATEWAY_ALLOW_ALL_USERS": "true"},
    )


async def jobs(home: Path) -> list:  # type: ignore[type-arg]
    async with await Store.open(home / "state.db") as store:
        return await store.jobs.all()


async def test_add_list_pause_resume_rm(home: Path) -> None:
    code, out, err = await cron(
        home, "add", "every 2h", "Summarise the news.", "--to", "home:test", "--name", "news"
    )
    assert code == 0, err
    [job] = await jobs(home)
    assert out.strip() == f"Added {job.id} 'news': every 2h -> home:test (next {_hhmm(job.next_run_at)})"
    assert (job.schedule_kind, job.schedule_value, job.target, job.grace_seconds) == (
        "interval",
        "7200",
        "home:test",
        300,
    )
    code, out, _ = await cron(home, "list")
    assert code == 0 and job.id in out and "every 2h" in out and "active" in out
    code, out, _ = await cron(home, "pause", job.id)
    assert code == 0 and out.strip().endswith("(paused)")
    code, out, err = await cron(home, "run", job.id)
    assert code == 1 and "is paused" in err
    code, out, _ = await cron(home, "resume", job.id)
    assert code == 0 and out.startswith(f"Resumed {job.id}")
    [resumed] = await jobs(home)
    assert resumed.enabled and resumed.next_run_at is not None and resumed.next_run_at > time.time() + 7000
    code, out, _ = await cron(home, "rm", job.id)
    assert code == 0 and out.strip() == f"Removed job {job.id} ('news')."
    assert await jobs(home) == []
    code, out, _ = await cron(home, "list")
    assert out.startswith("No scheduled jobs.")


async def test_bad_input_is_refused_and_nothing_is_stored(home: Path) -> None:
    await cron(home, "add", "every 1h", "keep", "--to", "test:room-1")
    before = await jobs(home)
    for args, message in [
        (("add", "whenever", "x", "--to", "home:test"), "not a schedule I understand"),
        (("add", "every 1h", "x", "--to", "nowhere"), "must be home:<platform> or <platform>:<chat id>"),
        (("add", "every 1h", "   ", "--to", "home:test"), "the prompt is blank"),
        (("add", "every 1h", "x"), "Missing option '--to'"),
        (("add", "every 1h", "x", "--to", "home:test", "--grace", "-5"), "--grace"),
    ]:
        code, _, err = await cron(home, *args)
        assert code == 2, (args, err)
        assert message in flat(err), (args, err)
    for command in ("pause", "resume", "rm", "run"):
        code, _, err = await cron(home, command, "nope")
        assert code == 1 and "no job 'nope'" in err
    assert await jobs(home) == before


async def test_run_without_a_gateway_runs_here_and_prints_the_answer(home: Path, llm: FakeLLM) -> None:
    await cron(home, "add", "0 9 * * *", "Say good morning.", "--to", "home:test", "--name", "morning")
    [job] = await jobs(home)
    llm.script(Text("Good morning, everyone!"))
    code, out, err = await cron(home, "run", job.id)
    assert code == 0, err
    assert out.strip() == (
        "Good morning, everyone!\n\n(The gateway is not running, so this was not posted to the job's target.)"
    )
    [after] = await jobs(home)
    assert after.last_status == "ok" and after.next_run_at == job.next_run_at
    assert "Say good morning." in llm.chat_requests[-1].messages[-1]["content"]
    llm.script(Text("unused"))
    # A failed run says so and exits non-zero.
    await llm.close()
    code, _, err = await cron(home, "run", job.id)
    assert code == 1 and f"job {job.id} failed" in err
    [failed] = await jobs(home)
    assert failed.last_status == "error"


async def test_run_with_the_gateway_running_posts_through_it(home: Path, llm: FakeLLM) -> None:
    await cron(home, "add", "every 1d", "Post the daily digest.", "--to", "test:room-7", "--name", "digest")
    [job] = await jobs(home)
    async with gateway_in_process(home) as running:
        await running.connected("test")
        scheduler = running.gateway.scheduler
        assert scheduler is not None
        async with asyncio.timeout(10):
            while scheduler.lock is None or not scheduler.lock.held:
                await asyncio.sleep(0.01)
        scheduler.poll_seconds = 0.05
        scheduler.wake()
        llm.script(Text("Today's digest: all quiet."))
        code, out, err = await cron(home, "run", job.id, "--wait", "30")
        assert code == 0, err
        assert "The gateway is running" in err
        assert out.strip() == "Today's digest: all quiet.\n\n(Posted to test:room-7.)"
        platform = running.gateway.hub.platforms["test"]  # type: ignore[union-attr]
        [message] = platform.messages  # type: ignore[attr-defined]
        assert (
            message.chat.chat_id == "room-7" and message.text == "⏰ **digest**\n\nToday's digest: all quiet."
        )
    [after] = await jobs(home)
    assert (
        after.last_status == "ok"
        and after.next_run_at is not None
        and after.next_run_at > time.time() + 80_000
    )


async def test_the_gateway_catches_up_a_job_missed_while_it_was_down(home: Path, llm: FakeLLM) -> None:
    async with await Store.open(home / "state.db") as store:
        missed = await store.jobs.create(
            name="missed",
            schedule_kind="interval",
            schedule_value="3600",
            prompt="Catch up.",
            target={"platform": "test", "chat_id": "room-1"},
            next_run_at=time.time() - 120,
        )
    llm.script(Text("Caught up after the restart."))
    async with gateway_in_process(home) as running:
        await running.connected("test")
        platform = running.gateway.hub.platforms["test"]  # type: ignore[union-attr]
        await platform.wait_for_messages(1, timeout=20)  # type: ignore[attr-defined]
        assert platform.messages[0].text == "⏰ **missed**\n\nCaught up after the restart."  # type: ignore[attr-defined]
    [after] = await jobs(home)
    assert after.id == missed.id and after.last_status == "ok" and len(llm.chat_requests) == 1


def flat(text: str) -> str:
    """Typer's error box, without the box and the line breaks."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def _hhmm(timestamp: float | None) -> str:
    from datetime import datetime

    assert timestamp is not None
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M")
