"""`hermes gateway status`: asks the running daemon over its control socket how it is doing.

Exits 0 with the report when the daemon answers, 1 when it does not (not running, or not answering).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import typer

from hermes.cli.common import EXIT_FAILURE

_STATE_MARKS = {"connected": "●", "reconnecting": "◐", "starting": "◐", "stopped": "○"}


def status(
    as_json: bool = typer.Option(False, "--json", help="Print the daemon's answer as JSON."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.1, help="Seconds to wait for an answer."),
) -> None:
    """Show the running gateway's platforms, sessions, runs, inbox backlog and scheduled jobs."""
    from hermes.config.writer import home_paths
    from hermes.gateway.control import ask, control_socket_path

    path = control_socket_path(home_paths())
    try:
        answer = ask(path, {"request": "status"}, timeout)
    except TimeoutError:
        typer.echo(f"The gateway did not answer within {timeout:g} s (socket {path}).", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    except (OSError, ValueError):
        typer.echo(f"The gateway is not running (nothing answers at {path}).", err=True)
        typer.echo("Start it with `hermes gateway run`, or `hermes gateway start` if installed.", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    if not answer.get("ok"):
        typer.echo(f"The gateway answered with an error: {answer.get('error')}", err=True)
        raise typer.Exit(EXIT_FAILURE)
    report = answer["status"]
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    typer.echo(render(report))


def _ago(then: float | None, now: float) -> str:
    if then is None:
        return "never"
    return f"{_duration(now - then)} ago"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m"
    return f"{hours // 24}d {hours % 24}h"


def _when(at: float, now: float) -> str:
    stamp = datetime.fromtimestamp(at).astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{stamp} (in {_duration(at - now)})" if at > now else f"{stamp} (due)"


def _field_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(report: dict[str, Any]) -> str:
    now = float(report.get("now") or time.time())
    state = "stopping" if report.get("stopping") else "running"
    lines = [
        f"Hermes gateway {report.get('version', '?')}: {state} "
        f"(pid {report.get('pid')}, up {_duration(now - float(report.get('started_at') or now))})",
        f"  home  {report.get('home')}",
        "",
        "Platforms",
    ]
    platforms: dict[str, dict[str, Any]] = report.get("platforms") or {}
    if not platforms:
        lines.append("  none enabled: run `hermes gateway setup`")
    width = max((len(name) for name in platforms), default=0)
    for name, info in sorted(platforms.items()):
        word = info.get("state", "?")
        mark = _STATE_MARKS.get(word, "?")
        detail = f"last event {_ago(info.get('last_event_at'), now)}"
        if info.get("inbox_backlog"):
            detail += f", {info['inbox_backlog']} waiting"
        if info.get("problem"):
            detail += f" — {info['problem']}"
        lines.append(f"  {mark} {name.ljust(width)}  {word:<12}  {detail}")
        fields = {key: value for key, value in (info.get("fields") or {}).items() if value is not None}
        if fields:
            shown = ", ".join(f"{key} {_field_text(value)}" for key, value in fields.items())
            lines.append(f"    {' ' * width}  {shown}")
    sessions = report.get("sessions") or {}
    jobs = report.get("jobs") or {}
    job_line = f"{jobs.get('active', 0)} active, {jobs.get('paused', 0)} paused"
    if jobs.get("running"):
        job_line += f", running now: {', '.join(jobs['running'])}"
    upcoming = jobs.get("next")
    if upcoming:
        job_line += f"; next: {upcoming['name']!r} {_when(float(upcoming['at']), now)}"
    lines += [
        "",
        f"Sessions        {sessions.get('open', 0)} open, {sessions.get('total', 0)} in all",
        f"Runs in flight  {report.get('runs_in_flight', 0)}",
        f"Inbox backlog   {report.get('inbox_backlog', 0)}",
        f"Scheduled jobs  {job_line}",
    ]
    for failing in jobs.get("failing") or []:
        lines.append(f"  ✗ job {failing['id']} ({failing['name']!r}) last failed: {failing['error']}")
    replication = report.get("replication")
    if replication:
        lines += ["", *_replication_lines(replication)]
    return "\n".join(lines)


def _replication_lines(replication: dict[str, Any]) -> list[str]:
    """Replicas sharing PostgreSQL: who is alive, and who holds what, by the database's clock."""
    me = replication.get("this_replica")
    lines = [f"Replicas        leases of {replication.get('lease_seconds')} s; this one is {me}"]
    for replica in replication.get("replicas") or []:
        mark = "*" if replica["id"] == me else " "
        lines.append(f"  {mark} {replica['id']}  seen {replica['seen_seconds_ago']} s ago")
    for lease in replication.get("leases") or []:
        holder = lease.get("holder") or "nobody (expired)"
        lines.append(
            f"  {lease['name']:<22} {holder}  token {lease['token']}, "
            f"renewed {lease['renewed_seconds_ago']} s ago, expires in {lease['expires_in_seconds']} s"
        )
    return lines
