"""Approvals and the services a run gets (gateway/approvals.py), as they behave today, on a real hub and
store with the in-memory test platform; no agent runs."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hermes.agent.contract import AgentEvent, Origin, RunRequest
from hermes.gateway.hub import Hub, HubOptions
from hermes.gateway.routing import RoutingPolicy
from hermes.platforms.base import AccessList, ChatRef, Inbound
from hermes.store import Store
from hermes.testing import TestPlatform

ORIGIN = Origin("test", "room", "group", "t1", "@alice")


class NoAgent:
    """Approvals never run the agent."""

    def run(
        self, request: RunRequest, cancel: asyncio.Event, services: Any = None
    ) -> AsyncIterator[AgentEvent]:
        raise AssertionError("no run expected")

    async def close(self) -> None:
        pass


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    store = await Store.open(tmp_path / "state.db")
    options = HubOptions(3600.0, False, 3, "interrupt", False, RoutingPolicy(True, False))
    yield Hub(store, NoAgent(), {"test": TestPlatform()}, options, AccessList(allow_all=True))
    await store.close()


def platform(hub: Hub) -> TestPlatform:
    found = hub.platforms["test"]
    assert isinstance(found, TestPlatform)
    return found


def said(text: str, user: str = "@alice", thread: str | None = "t1") -> Inbound:
    return Inbound("ev9", ChatRef("test", "room", "group", thread), user, "Alice", text, True, 0.0)


async def asked(hub: Hub, wait: float = 5.0) -> asyncio.Task[bool]:
    question = asyncio.create_task(hub.approvals.ask(platform(hub), ORIGIN, "Run `rm -rf build`?", wait))
    await platform(hub).wait_for_messages(1)
    return question


async def test_the_question_goes_to_the_requesters_thread_and_yes_approves(hub: Hub) -> None:
    question = await asked(hub)
    [message] = platform(hub).messages
    assert message.chat == ChatRef("test", "room", "group", "t1")
    assert message.text.startswith("Run `rm -rf build`?\n\nReply **yes** to approve or **no** to refuse")
    assert hub.approvals.answer(said("Yes!")) is True
    assert await question is True
    assert hub.approvals.answer(said("yes")) is False


async def test_no_refuses_and_only_the_requester_in_that_place_answers(hub: Hub) -> None:
    question = await asked(hub)
    assert hub.approvals.answer(said("yes", user="@mallory")) is False
    assert hub.approvals.answer(said("yes", thread=None)) is False
    assert hub.approvals.answer(said("maybe later")) is False
    assert not question.done()
    assert hub.approvals.answer(said("❌")) is True
    assert await question is False


async def test_no_answer_in_time_is_a_refusal(hub: Hub) -> None:
    question = await asked(hub, wait=0.05)
    assert await question is False
    assert hub.approvals.answer(said("yes")) is False


async def test_services_ask_only_in_the_runs_own_platform(hub: Hub) -> None:
    services = hub.approvals.services_for(platform(hub))
    assert await services.request_approval(dataclasses.replace(ORIGIN, platform="other"), "ok?", 5.0) is False
    assert platform(hub).messages == []


async def test_send_message_to_a_home_or_a_chat(hub: Hub) -> None:
    services = hub.approvals.services_for(platform(hub))
    with pytest.raises(LookupError, match="test has no home channel: send /sethome"):
        await services.send_message("home:test", "hello")
    platform(hub).default_home = ChatRef("test", "configured", "channel")
    await services.send_message("home:test", "to the configured home")
    await hub.store.homes.set("test", "chosen", "t7", set_by="@alice")
    await services.send_message("home:test", "to the chosen home")
    message_id = await services.send_message("test:elsewhere", "direct")
    sent = platform(hub).messages
    assert [(m.chat.chat_id, m.chat.thread_id, m.text) for m in sent] == [
        ("configured", None, "to the configured home"),
        ("chosen", "t7", "to the chosen home"),
        ("elsewhere", None, "direct"),
    ]
    assert sent[-1].message_id == message_id
    with pytest.raises(LookupError, match=r"no platform 'irc' is running \(running: test\)"):
        await services.send_message("irc:room", "x")
    with pytest.raises(LookupError, match="names no chat"):
        await services.send_message("test:", "x")
