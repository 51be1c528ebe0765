"""The one backoff and the one retry budget every retrying client shares."""

from __future__ import annotations

from hermes.backoff import Backoff, RetryBudget, exponential_delay


def test_delays_double_up_to_the_maximum_and_jitter_only_shortens_them() -> None:
    assert [exponential_delay(n, 0.25, 5.0) for n in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    for attempt in range(10):
        assert 0.8 * min(5.0, 0.25 * 2**attempt) <= exponential_delay(attempt, 0.25, 5.0, 0.2) <= 5.0


def test_a_backoff_starts_over_after_a_reset() -> None:
    backoff = Backoff(1.0, 8.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0


def test_a_retry_budget_counts_attempts_and_time_from_the_first_attempt() -> None:
    now = [100.0]
    retries = RetryBudget(0.5, 4.0, jitter=0.0, clock=lambda: now[0])
    assert retries.next_attempt() == 1
    assert retries.delay() == 0.5
    retries.next_attempt()
    assert retries.delay() == 1.0
    assert retries.allows(10.0, budget=10.0)
    now[0] += 7.0
    assert retries.allows(3.0, budget=10.0)
    assert not retries.allows(3.5, budget=10.0)
    # A budget of nothing allows no wait at all: a request tried once.
    assert not retries.allows(0.5, budget=0.0)
