"""What a scheduled job is made of, as a person or the model writes it: its schedule and its target.

Schedules, as written:
- `30m`, `2h`, `1d`, `45s`             once, that long from now
- `every 30m`, `every 2h`              repeatedly, at that interval
- `0 9 * * 1-5`, `@daily`              a cron expression (the daemon's local time zone)
- `2026-03-01T09:00`, `... +01:00`     once, at that time (local time unless an offset is given)

Stored as (kind, value): cron -> the expression, interval -> seconds, once -> an ISO 8601 time with offset.

Targets: `home:<platform>` (that platform's home channel), `<platform>:<chat id>`, or a dict
`{"platform", "chat_id", "kind", "thread_id"}` (a chat, as the cronjob tool records its origin) or
`{"home": "<platform>"}`; a dict may also carry `owner` (the session key that created the job).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

# Types only: the store is not imported with the settings (this module loads when they are found).
if TYPE_CHECKING:
    from hermes.store.jobs import JobTarget, ScheduleKind

_DURATION = re.compile(
    r"^(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)$"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_CRON_FIELD = re.compile(r"^[\d*,/\-A-Za-z?LW#]+$")
MIN_INTERVAL_SECONDS = 60
MAX_DURATION_SECONDS = 366 * 86400
SCHEDULE_HELP = (
    "use '30m' / '2h' / '1d' (once, from now), 'every 30m' / 'every 2h' (repeating), a cron expression "
    "such as '0 9 * * 1-5' (minute hour day month weekday), or a time such as '2026-03-01T09:00'"
)


class ScheduleError(ValueError):
    """A schedule or target that cannot be used; the message says what is accepted."""


@dataclass(frozen=True)
class Schedule:
    kind: ScheduleKind
    value: str

    def describe(self) -> str:
        return describe_schedule(self.kind, self.value)


def parse_duration(text: str) -> int:
    found = _DURATION.match(text.strip().lower())
    if found is None:
        raise ScheduleError(f"{text!r} is not a duration such as '30m', '2h' or '1d'")
    seconds = int(found.group(1)) * _UNIT_SECONDS[found.group(2)[0]]
    if seconds <= 0 or seconds > MAX_DURATION_SECONDS:
        raise ScheduleError(f"{text!r} must be more than nothing and at most a year")
    return seconds


def parse_schedule(text: str, now: float) -> Schedule:
    raw = " ".join(text.split())
    if not raw:
        raise ScheduleError(f"the schedule is empty; {SCHEDULE_HELP}")
    lowered = raw.lower()
    if lowered.startswith("every "):
        seconds = parse_duration(raw[6:])
        if seconds < MIN_INTERVAL_SECONDS:
            raise ScheduleError(f"a repeating job must run at most once a minute, not {raw!r}")
        return Schedule("interval", str(seconds))
    if raw.startswith("@") or (len(raw.split()) in (5, 6) and all(_CRON_FIELD.match(p) for p in raw.split())):
        # Imported here: croniter costs ~60 ms, and every command that reads the settings imports this
        # module (its tool registers itself when the settings are found).
        from croniter import croniter

        if not croniter.is_valid(raw):
            raise ScheduleError(f"{raw!r} is not a valid cron expression; {SCHEDULE_HELP}")
        return Schedule("cron", raw)
    if _DURATION.match(lowered):
        when = now + parse_duration(raw)
        return Schedule("once", _iso(when))
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise ScheduleError(f"{raw!r} is not a schedule I understand; {SCHEDULE_HELP}") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    if moment.timestamp() <= now:
        raise ScheduleError(f"{raw!r} is in the past")
    return Schedule("once", moment.isoformat(timespec="seconds"))


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def first_run(schedule: Schedule, now: float) -> float:
    """When a new (or resumed) job first runs."""
    if schedule.kind == "once":
        return max(datetime.fromisoformat(schedule.value).timestamp(), now)
    if schedule.kind == "interval":
        return now + int(schedule.value)
    return _cron_after(schedule.value, now)


def next_run(kind: ScheduleKind, value: str, *, scheduled: float | None, now: float) -> float | None:
    """The run after one that was due at `scheduled`, strictly after `now`: missed slots are not made up,
    an interval keeps its phase, a one-off job has no next run."""
    if kind == "once":
        return None
    if kind == "interval":
        step = int(value)
        if scheduled is None or scheduled > now:
            return now + step
        return scheduled + step * (math.floor((now - scheduled) / step) + 1)
    return _cron_after(value, now)


def _cron_after(expression: str, now: float) -> float:
    from croniter import croniter

    start = datetime.fromtimestamp(now).astimezone()
    return float(croniter(expression, start).get_next(float))


def describe_schedule(kind: str, value: str) -> str:
    if kind == "interval":
        return f"every {_duration_text(int(value))}"
    if kind == "once":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return f"once at {value}"
        return "once at " + moment.astimezone().strftime("%Y-%m-%d %H:%M")
    return f"cron {value}"


def _duration_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return str(timedelta(seconds=seconds))


def parse_target(text: str) -> JobTarget:
    """A target as written on the command line: `home:<platform>` or `<platform>:<chat id>`."""
    scope, sep, rest = text.strip().partition(":")
    if not sep or not scope or not rest:
        raise ScheduleError(f"target {text!r} must be home:<platform> or <platform>:<chat id>")
    if scope == "home":
        return f"home:{rest}"
    return {"platform": scope, "chat_id": rest, "kind": "channel", "thread_id": None}


def target_platform(target: JobTarget) -> str:
    if isinstance(target, str):
        scope, _, rest = target.partition(":")
        return rest if scope == "home" else scope
    return str(target.get("home") or target.get("platform") or "")


def describe_target(target: JobTarget) -> str:
    if isinstance(target, str):
        return target
    if target.get("home"):
        return f"home:{target['home']}"
    thread = f" (thread {target['thread_id']})" if target.get("thread_id") else ""
    return f"{target.get('platform')}:{target.get('chat_id')}{thread}"


def target_owner(target: JobTarget) -> str | None:
    return target.get("owner") if isinstance(target, dict) else None


def job_summary(job: Any) -> str:
    """One line for a job, for the tool and the CLI alike."""
    state = "paused" if not job.enabled else ("done" if job.next_run_at is None else "active")
    when = (
        "next " + datetime.fromtimestamp(job.next_run_at).astimezone().strftime("%Y-%m-%d %H:%M")
        if job.next_run_at is not None and job.enabled
        else state
    )
    last = f", last run {job.last_status}" if job.last_status else ""
    return (
        f"{job.id} {job.name!r}: {describe_schedule(job.schedule_kind, job.schedule_value)} -> "
        f"{describe_target(job.target)} ({when}{last})"
    )
