from datetime import datetime

import pytest

from hermes.agent.tools.cronspec import (
    Schedule,
    ScheduleError,
    describe_target,
    first_run,
    next_run,
    parse_schedule,
    parse_target,
    target_platform,
)

NOW = datetime(2026, 3, 2, 8, 30).astimezone().timestamp()  # a Monday, 08:30 local time


def local(*parts: int) -> float:
    return datetime(*parts).astimezone().timestamp()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "kind", "first", "described"),
    [
        ("30m", "once", NOW + 1800, "once at 2026-03-02 09:00"),
        ("2 hours", "once", NOW + 7200, "once at 2026-03-02 10:30"),
        ("every 30m", "interval", NOW + 1800, "every 30m"),
        ("Every 1d", "interval", NOW + 86400, "every 1d"),
        ("0 9 * * 1-5", "cron", local(2026, 3, 2, 9, 0), "cron 0 9 * * 1-5"),
        ("@daily", "cron", local(2026, 3, 3, 0, 0), "cron @daily"),
        ("2026-03-05T14:00", "once", local(2026, 3, 5, 14, 0), "once at 2026-03-05 14:00"),
    ],
)
def test_schedules_as_people_write_them(text: str, kind: str, first: float, described: str) -> None:
    schedule = parse_schedule(text, NOW)
    assert schedule.kind == kind
    assert first_run(schedule, NOW) == pytest.approx(first, abs=1)
    assert schedule.describe() == described


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("every 10s", "at most once a minute"),
        ("every fortnight", "not a duration"),
        ("61 * * * *", "not a valid cron expression"),
        ("tomorrow-ish", "not a schedule I understand"),
        ("2020-01-01T00:00", "in the past"),
        ("0m", "more than nothing"),
        ("500d", "at most a year"),
    ],
)
def test_bad_schedules_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(text, NOW)


def test_next_runs_skip_missed_slots() -> None:
    # An interval keeps its phase and does not make up slots missed while the gateway was down.
    assert next_run("interval", "600", scheduled=NOW - 1500, now=NOW) == NOW + 300
    assert next_run("interval", "600", scheduled=NOW, now=NOW) == NOW + 600
    assert next_run("cron", "0 9 * * *", scheduled=local(2026, 2, 27, 9, 0), now=NOW) == local(
        2026, 3, 2, 9, 0
    )
    assert next_run("once", "2026-03-02T08:00:00+00:00", scheduled=NOW, now=NOW) is None


def test_a_resumed_one_off_job_that_is_overdue_runs_at_once() -> None:
    assert first_run(Schedule("once", "2026-03-01T00:00:00+00:00"), NOW) == NOW


def test_targets() -> None:
    assert parse_target("home:matrix") == "home:matrix"
    assert parse_target("mattermost:abc123") == {
        "platform": "mattermost",
        "chat_id": "abc123",
        "kind": "channel",
        "thread_id": None,
    }
    for bad in ("matrix", "home:", ":x", ""):
        with pytest.raises(ScheduleError, match="must be home:<platform> or <platform>:<chat id>"):
            parse_target(bad)
    chat = {"platform": "matrix", "chat_id": "!r:hs", "thread_id": "$t", "owner": "k"}
    assert target_platform("home:matrix") == "matrix"
    assert target_platform({"home": "mattermost", "owner": "k"}) == "mattermost"
    assert target_platform(chat) == "matrix"
    assert describe_target(chat) == "matrix:!r:hs (thread $t)"
    assert describe_target({"home": "matrix"}) == "home:matrix"
