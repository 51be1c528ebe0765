"""A session's transcript as Markdown or as JSON: what `hermes sessions show|export` print and the dashboard
offers for download."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from hermes.store import Message, Session


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M")


def _tool_calls(message: Message) -> str:
    calls = []
    for call in message.tool_calls or []:
        function = call.get("function", call) if isinstance(call, dict) else {}
        calls.append(f"{function.get('name', '?')}({function.get('arguments', '')})")
    return ", ".join(calls)


def markdown(session: Session, messages: list[Message]) -> str:
    lines = [
        f"# Session {session.id}",
        "",
        f"- key: `{session.key}`",
        f"- platform: {session.platform}, chat `{session.chat_id}`",
        f"- started {when(session.created_at)}, last active {when(session.updated_at)}"
        + (f", ended {when(session.ended_at)}" if session.ended_at else ""),
        f"- {session.message_count} messages, {session.prompt_tokens} prompt and "
        f"{session.completion_tokens} completion tokens",
    ]
    if session.summary:
        lines += ["", "## Summary of earlier messages", "", session.summary]
    for message in messages:
        who = message.role + (f" ({message.name})" if message.name else "")
        lines += ["", f"## {who} — {when(message.created_at)}", ""]
        if message.content:
            lines.append(message.content)
        if message.tool_calls:
            lines.append(f"_tool calls: {_tool_calls(message)}_")
    return "\n".join(lines) + "\n"


def as_json(session: Session, messages: list[Message]) -> str:
    document: dict[str, Any] = {"session": asdict(session), "messages": [asdict(m) for m in messages]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
