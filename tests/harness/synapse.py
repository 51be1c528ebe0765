"""Pytest plugin: real Synapse homeservers and human-side Matrix clients.

Fixtures (all lazy: a server starts the first time a test asks for it, once per session):

- ``synapse``: the shared homeserver, rate limits raised. Give each test fresh users
  (``await synapse.register()``) so tests stay independent on one server.
- ``synapse_ratelimited``: a second homeserver whose ``rc_message`` allows a burst of 3 then one
  message every 2 s, for tests of ``M_LIMIT_EXCEEDED`` handling. Creating a room uses one of the 3;
  Synapse holds each over-limit request ~0.5 s before answering 429 with ``retry_after_ms``.
- ``synapse_factory``: starts further servers from config overrides (deep-merged into the template).
- ``matrix_humans``: per test, ``await matrix_humans.new(server, encryption=...)`` gives a syncing
  ``MatrixHuman``; all are closed when the test ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.harness.synapse_server import SynapseFactory, SynapseServer

if TYPE_CHECKING:
    from tests.harness.matrix_user import MatrixHumans

LOW_MESSAGE_RATE_LIMIT: dict[str, Any] = {"rc_message": {"per_second": 0.5, "burst_count": 3}}


@pytest.fixture(scope="session")
def synapse_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseFactory]:
    factory = SynapseFactory(tmp_path_factory.mktemp("synapse"))
    yield factory
    factory.stop_all()


@pytest.fixture(scope="session")
def synapse(synapse_factory: SynapseFactory) -> SynapseServer:
    return synapse_factory.start()


@pytest.fixture(scope="session")
def synapse_ratelimited(synapse_factory: SynapseFactory) -> SynapseServer:
    return synapse_factory.start(LOW_MESSAGE_RATE_LIMIT)


@pytest.fixture
async def matrix_humans(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MatrixHumans]:
    # Imported here: mautrix and olm cost ~0.5 s, which runs that never touch Matrix should not pay.
    from tests.harness.matrix_user import MatrixHumans

    humans = MatrixHumans(tmp_path_factory.mktemp("matrix-crypto"))
    yield humans
    await humans.close()
