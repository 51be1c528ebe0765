"""A scheduled job's answer lands in the Matrix home room, through the hub's send path."""

from __future__ import annotations

import time

import pytest

from tests.fakes.llm import Text
from tests.harness.matrix_user import MatrixHumans

from .conftest import MatrixBot, open_room, replies_from

pytestmark = pytest.mark.synapse


async def test_a_due_job_posts_its_answer_in_the_home_room(
    bot: MatrixBot, matrix_humans: MatrixHumans
) -> None:
    owner = await matrix_humans.new(bot.server)
    bot.configure(allowed=[owner.user_id])
    async with bot.running() as gateway:
        hub = gateway.gateway.hub
        scheduler = gateway.gateway.scheduler
        assert hub is not None and scheduler is not None
        room_id = await open_room(owner, bot.user_id)
        sethome = await owner.send_text(room_id, "/sethome", mentions=[bot.user_id])
        await owner.wait_for_message(room_id, sender=bot.user_id, after=sethome)
        assert (home := await hub.store.homes.get("matrix")) is not None and home.chat_id == room_id

        bot.llm.script(Text("Good morning: three meetings today."))
        await hub.store.jobs.create(
            name="briefing",
            schedule_kind="interval",
            schedule_value="86400",
            prompt="Summarise my day",
            target="home:matrix",
            next_run_at=time.time() - 1,
        )
        scheduler.wake()
        reply = await owner.wait_for_message(room_id, lambda e: "Good morning" in (e.body or ""), timeout=20)
    assert "briefing" in (reply.body or "")
    assert [r.event_id for r in replies_from(owner, room_id, bot.user_id)][-1] == reply.event_id
    assert bot.llm.requests[-1].last_user_text.endswith("\n\nSummarise my day")
