"""The status report's platform states come from typed state: the supervisor's and the platform's own."""

from __future__ import annotations

import pytest

from hermes.gateway.status_report import describe_state
from hermes.testing import TestPlatform


@pytest.mark.parametrize(
    ("supervisor", "problem", "halted", "shown"),
    [
        ("starting", None, False, "starting"),
        ("connected", None, False, "connected"),
        ("retrying", "cannot connect: refused", False, "reconnecting"),
        ("connected", "disconnected: timeout", False, "reconnecting"),
        # The words of the problem do not matter, only whether the platform gave up.
        ("connected", "credentials rejected: no longer accepted", False, "reconnecting"),
        ("connected", "listener stopped: RuntimeError()", True, "stopped"),
        ("stopped", "credentials rejected: M_UNKNOWN_TOKEN", True, "stopped"),
    ],
)
def test_states_as_an_operator_reads_them(
    supervisor: str, problem: str | None, halted: bool, shown: str
) -> None:
    platform = TestPlatform()
    platform.problem, platform.halted = problem, halted
    assert describe_state(supervisor, platform) == shown
