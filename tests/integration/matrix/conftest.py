"""A Hermes bot account on the real Synapse, its HERMES_HOME, and the fake LLM it talks to."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hermes.platforms.matrix import MatrixPlatform
from tests.fakes.llm import FakeLLM
from tests.harness.gateway import RunningGateway, gateway_in_process, llm_config, write_home
from tests.harness.matrix_timeline import ReceivedEvent
from tests.harness.matrix_user import MatrixHuman
from tests.harness.synapse_server import MatrixAccount, SynapseServer


@dataclass
class MatrixBot:
    server: SynapseServer
    account: MatrixAccount
    home: Path
    llm: FakeLLM

    @property
    def user_id(self) -> str:
        return self.account.user_id

    def configure(
        self,
        *,
        allowed: Iterable[str] = (),
        matrix: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        model: Mapping[str, Any] | None = None,
    ) -> None:
        """Write the bot's home: this server, its token, the allowlist, and any extra settings."""
        dotenv = {
            "MATRIX_HOMESERVER": self.server.base_url,
            "MATRIX_ACCESS_TOKEN": self.account.access_token,
            "MATRIX_ALLOWED_USERS": ",".join(allowed),
            **(env or {}),
        }
        tree: dict[str, Any] = {
            "model": model or llm_config(self.llm.base_url),
            "matrix": dict(matrix or {}),
            **(config or {}),
        }
        write_home(self.home, config=tree, env=dotenv)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RunningGateway]:
        """The gateway of the bot's home, connected to Matrix, until the block ends."""
        async with gateway_in_process(self.home) as gateway:
            await gateway.connected("matrix")
            yield gateway


def platform_of(gateway: RunningGateway) -> MatrixPlatform:
    assert gateway.gateway.hub is not None
    platform = gateway.gateway.hub.platforms["matrix"]
    assert isinstance(platform, MatrixPlatform)
    return platform


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    # Instant: each answer arrives in one piece, so a reply is one event unless a test asks for streaming.
    async with FakeLLM(instant=True) as fake:
        yield fake


@pytest.fixture
async def bot(synapse: SynapseServer, llm: FakeLLM, tmp_path: Path) -> MatrixBot:
    account = await synapse.register(prefix="hermes")
    return MatrixBot(synapse, account, tmp_path / "home", llm)


# -- human-side helpers ------------------------------------------------------------------------------------


async def open_dm(human: MatrixHuman, bot_id: str) -> str:
    """A direct room from `human` to the bot, once the bot has joined it."""
    room_id = await human.create_room(invite=[bot_id], direct=True)
    await human.wait_for_membership(room_id, bot_id, "join")
    return room_id


async def open_room(owner: MatrixHuman, bot_id: str, *others: MatrixHuman) -> str:
    """A group room with the bot and `others`, once everyone has joined."""
    room_id = await owner.create_room(invite=[bot_id, *(o.user_id for o in others)])
    for other in others:
        await other.wait_for_invite(lambda invite: invite.room_id == room_id)
        await other.join(room_id)
        await owner.wait_for_membership(room_id, other.user_id, "join")
    await owner.wait_for_membership(room_id, bot_id, "join")
    return room_id


def replies_from(human: MatrixHuman, room_id: str, sender: str) -> list[ReceivedEvent]:
    """Messages `sender` posted in the room as `human` has seen them; edits are not new messages."""
    return [
        event
        for event in human.events(room_id)
        if event.type == "m.room.message"
        and event.sender == sender
        and event.relates_to.get("rel_type") != "m.replace"
    ]


def latest_text(human: MatrixHuman, room_id: str, event: ReceivedEvent) -> str:
    """A message's text after the edits `human` has seen so far."""
    text = event.body or ""
    for candidate in human.events(room_id):
        relation = candidate.relates_to
        if relation.get("rel_type") == "m.replace" and relation.get("event_id") == event.event_id:
            text = candidate.content.get("m.new_content", {}).get("body", text)
    return text
