from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from tests.fakes.mattermost import Channel, MattermostEmulator, Team, User

from .support import Harness


@dataclass
class World:
    """A bot, two humans and an outsider; a team with an open, a private channel and DMs."""

    bot: User
    alice: User
    bob: User
    carol: User
    team: Team
    town: Channel
    private: Channel
    dm: Channel


@pytest.fixture
async def mm() -> AsyncIterator[MattermostEmulator]:
    async with MattermostEmulator(auth_timeout=0.3) as emulator:
        yield emulator


@pytest.fixture
async def h(mm: MattermostEmulator) -> AsyncIterator[Harness]:
    async with aiohttp.ClientSession() as session:
        yield Harness(mm, session)


@pytest.fixture
def world(mm: MattermostEmulator) -> World:
    bot, _ = mm.create_bot("agentbot", description="the agent")
    alice = mm.create_user("alice", first_name="Alice")
    bob = mm.create_user("bob")
    carol = mm.create_user("carol")
    team = mm.create_team("core", display_name="Core", members=[bot, alice, bob, carol])
    town = mm.create_channel(team, "O", [alice, bob, bot], name="town-square", display_name="Town Square")
    private = mm.create_channel(team, "P", [alice, bot], name="secret", display_name="Secret")
    dm = mm.direct_channel(alice, bot)
    return World(bot, alice, bob, carol, team, town, private, dm)
