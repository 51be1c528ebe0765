"""Slash commands, answered by the hub itself, never queued behind a run.

`!cmd` works like `/cmd` because Mattermost's web client keeps messages that start with `/` for itself.
An unknown command is not a command: it goes to the agent as text. `parse_command` is the one place
commands are recognised: the hub uses it, and adapters ask it through `HubPort.is_command`.

A command sees the gateway only through the narrow ports below (the sessions and homes repositories and
the session runs), never the whole hub.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from hermes import __version__
from hermes.gateway.proxy import RemoteUnavailable, RemoteUsage

if TYPE_CHECKING:
    from hermes.platforms.base import Inbound
    from hermes.store.homes import HomeChannel
    from hermes.store.sessions import Message, Session


class SessionsPort(Protocol):
    """The part of the sessions repository commands use."""

    async def current(self, key: str) -> Session | None: ...

    async def get_or_create(self, key: str, *, platform: str, chat_id: str) -> Session: ...

    async def end_current(self, key: str) -> Session | None: ...

    async def set_model_override(self, session_id: str, model: str | None) -> Session: ...

    async def undo_last_turn(self, session_id: str) -> list[Message]: ...


class HomesPort(Protocol):
    async def set(
        self, platform: str, chat_id: str, thread_id: str | None = None, *, set_by: str | None = None
    ) -> HomeChannel: ...


class RunsPort(Protocol):
    """The sessions' runs, as commands steer them."""

    @property
    def runs_in_flight(self) -> int: ...

    def interrupt(self, session_key: str) -> bool:
        """Stop the session's current run; False when none was running."""
        ...

    def run_again(self, session_key: str, inbound: Inbound) -> None:
        """Queue an input on the session as if it had just arrived."""
        ...


class RemoteAgentPort(Protocol):
    """In proxy mode, the remote agent: it, not the local store, keeps the conversations."""

    async def models(self) -> list[str]:
        """The model names it answers to; RemoteUnavailable when it cannot be asked."""
        ...

    async def usage(self, session_key: str, session_id: str) -> RemoteUsage | None:
        """Its counts for the local session's conversation; None when it holds none yet;
        RemoteUnavailable when it cannot be asked."""
        ...


class OwnersPort(Protocol):
    """Who owns the bot on a platform (`gateway.owners`, else the one person its allowlists admit)."""

    def has_owner(self, platform: str) -> bool: ...

    def is_owner(self, platform: str, user_id: str) -> bool: ...


@dataclass(frozen=True)
class CommandContext:
    inbound: Inbound
    session_key: str
    command: Command
    args: str
    sessions: SessionsPort
    homes: HomesPort
    runs: RunsPort
    owners: OwnersPort
    default_model: str
    uptime_seconds: float
    remote: RemoteAgentPort | None = None


Handler = Callable[[CommandContext], Awaitable[str | None]]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    handler: Handler


COMMANDS: dict[str, Command] = {}


def command(*names: str, summary: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            COMMANDS[name] = Command(names[0], summary, handler)
        return handler

    return register


def command_menu() -> list[tuple[str, str]]:
    """Every command once, by its first name, with its summary."""
    unique = {command.name: command.summary for command in COMMANDS.values()}
    return sorted(unique.items())


def parse_command(text: str, *, bare: bool = False) -> tuple[Command, str] | None:
    """`/name args` or `!name args` for a known name; with `bare`, also a lone known command word."""
    stripped = text.strip()
    if stripped[:1] in ("/", "!"):
        word, _, args = stripped[1:].partition(" ")
    elif bare and " " not in stripped:
        word, args = stripped, ""
    else:
        return None
    found = COMMANDS.get(word.lower())
    return (found, args.strip()) if found is not None else None


def _not_in_proxy_mode(name: str) -> str:
    return (
        f"/{name} is not available here: this gateway relays to a remote agent, which keeps the "
        "conversation. /new starts a fresh one."
    )


def _uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m {secs}s"


@command("new", "reset", summary="start a fresh conversation")
async def _new(ctx: CommandContext) -> str:
    ctx.runs.interrupt(ctx.session_key)
    await ctx.sessions.end_current(ctx.session_key)
    return "✨ Started a fresh conversation."


@command("stop", summary="stop the current reply")
async def _stop(ctx: CommandContext) -> str:
    if ctx.runs.interrupt(ctx.session_key):
        return "⏹ Stopped."
    return "Nothing is running."


@command("help", summary="list the commands")
async def _help(ctx: CommandContext) -> str:
    seen: dict[str, Command] = {c.name: c for c in COMMANDS.values()}
    lines = [f"/{c.name} — {c.summary}" for c in seen.values()]
    return "Commands (`!` works as well as `/`):\n" + "\n".join(lines)


@command("status", summary="model, session, token use and uptime")
async def _status(ctx: CommandContext) -> str:
    session = await ctx.sessions.current(ctx.session_key)
    default = ctx.default_model if ctx.remote is None else "the remote agent's default"
    model = (session.model_override if session else None) or default
    lines = [
        f"Hermes {__version__}, up {_uptime(ctx.uptime_seconds)}",
        f"Model: {model}",
        f"Session: {ctx.session_key}",
    ]
    if session is not None:
        counts = await _counts(ctx, session)
        if counts is not None:
            tokens = f"{counts.input_tokens} in / {counts.output_tokens} out"
            lines.append(f"Messages: {counts.message_count}, tokens: {tokens}")
        else:
            lines.append("Messages: unknown (the remote agent is unreachable right now)")
    lines.append(f"Runs in flight: {ctx.runs.runs_in_flight}")
    return "\n".join(lines)


async def _counts(ctx: CommandContext, session: Session) -> RemoteUsage | None:
    """The conversation's counts: the local store's, or in proxy mode the remote agent's (no messages yet
    when it holds none); None when the remote cannot be asked."""
    if ctx.remote is None:
        return RemoteUsage(session.message_count, session.prompt_tokens, session.completion_tokens)
    try:
        found = await ctx.remote.usage(ctx.session_key, session.id)
    except RemoteUnavailable:
        return None
    return found or RemoteUsage(0, 0, 0)


@command("usage", summary="token use of this conversation")
async def _usage(ctx: CommandContext) -> str:
    session = await ctx.sessions.current(ctx.session_key)
    if session is None:
        return "No usage yet in this conversation."
    counts = await _counts(ctx, session)
    if counts is None:
        return "The remote agent is unreachable right now, so this conversation's usage cannot be shown."
    if not counts.message_count:
        return "No usage yet in this conversation."
    total = counts.input_tokens + counts.output_tokens
    return (
        f"This conversation: {counts.input_tokens} prompt + {counts.output_tokens} completion "
        f"= {total} tokens over {counts.message_count} messages."
    )


@command("sethome", summary="make this chat the home channel for proactive messages")
async def _sethome(ctx: CommandContext) -> str:
    chat = ctx.inbound.chat
    # Where scheduled answers go is the owner's to choose; with no owner known, any allowed person may.
    if ctx.owners.has_owner(chat.platform) and not ctx.owners.is_owner(chat.platform, ctx.inbound.sender_id):
        return "🏠 Only the owner can set the home channel (the `gateway.owners` setting names who that is)."
    await ctx.homes.set(chat.platform, chat.chat_id, chat.thread_id, set_by=ctx.inbound.sender_id)
    return "🏠 This chat is now the home channel: scheduled and proactive messages will arrive here."


@command("model", summary="show or set the model for this conversation (`/model default` resets)")
async def _model(ctx: CommandContext) -> str:
    sessions = ctx.sessions
    chat = ctx.inbound.chat
    session = await sessions.get_or_create(ctx.session_key, platform=chat.platform, chat_id=chat.chat_id)
    if ctx.remote is not None:
        return await _remote_model(ctx, ctx.remote, session.id, session.model_override)
    if not ctx.args:
        return f"Model: {session.model_override or ctx.default_model}"
    chosen = None if ctx.args.lower() == "default" else ctx.args
    await sessions.set_model_override(session.id, chosen)
    return f"Model for this conversation: {chosen or ctx.default_model}"


async def _remote_model(
    ctx: CommandContext, remote: RemoteAgentPort, session_id: str, current: str | None
) -> str:
    """The remote agent answers to the names its /v1/models lists; an unknown name would be ignored
    silently over there, so only those are accepted."""
    try:
        offered = await remote.models()
    except RemoteUnavailable:
        return "The remote agent is unreachable right now, so its models cannot be listed or chosen."
    listing = ", ".join(offered) or "none"
    default = offered[0] if offered else "the remote agent's default"
    if not ctx.args:
        return f"Model (remote agent): {current or default}. Available: {listing}."
    chosen = None if ctx.args.lower() == "default" else ctx.args
    if chosen is not None and chosen not in offered:
        return f"The remote agent does not offer `{chosen}`. Available: {listing}."
    await ctx.sessions.set_model_override(session_id, chosen)
    return f"Model for this conversation (remote agent): {chosen or default}"


@command("whoami", summary="your id on this platform")
async def _whoami(ctx: CommandContext) -> str:
    inbound = ctx.inbound
    return f"You are {inbound.sender_name} — {inbound.chat.platform} id `{inbound.sender_id}`."


@command("undo", summary="forget the last exchange")
async def _undo(ctx: CommandContext) -> str:
    if ctx.remote is not None:
        return _not_in_proxy_mode("undo")
    session = await ctx.sessions.current(ctx.session_key)
    removed = await ctx.sessions.undo_last_turn(session.id) if session else []
    if not removed:
        return "Nothing to undo."
    return f"↩️ Forgot the last exchange ({len(removed)} messages)."


@command("retry", summary="answer the last message again")
async def _retry(ctx: CommandContext) -> str | None:
    if ctx.remote is not None:
        return _not_in_proxy_mode("retry")
    session = await ctx.sessions.current(ctx.session_key)
    removed = await ctx.sessions.undo_last_turn(session.id) if session else []
    question = next((m.content for m in removed if m.role == "user" and m.content), None)
    if question is None:
        return "Nothing to retry."
    ctx.runs.run_again(ctx.session_key, replace(ctx.inbound, text=question, sent_at=time.time()))
    return None
