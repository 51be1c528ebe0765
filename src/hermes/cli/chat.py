"""`hermes chat`: a terminal conversation with the local agent — the quickest way to see it work.

Replies stream as they are written, tool calls show as one line each, the chat platforms' slash commands
work (from the same code), Ctrl-C stops a reply (and quits at the prompt). Input may be piped: one message
per line; then a failed reply makes the exit status 1. Logs go to `HERMES_HOME/logs/chat.log`; a retry of
the model shows as one short line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING, TextIO

import typer

from hermes.cli.common import EXIT_CONFIG, EXIT_FAILURE, load_or_exit

if TYPE_CHECKING:
    from hermes.agent.local import LocalAgent
    from hermes.cli.chat_commands import TerminalHub
    from hermes.config import LoadedConfig

SESSION_KEY = "cli:local"
HELP = "Type /help for the commands, /exit to quit (so does Ctrl-D)."
EXIT_HELP = "/exit — leave the chat (so does Ctrl-D)"
RETRY_LOGGER = "hermes.agent.providers.retry"
_ARGS_PREVIEW = 80


def chat(
    model: str | None = typer.Option(
        None, "--model", "-m", help="Model id for this chat (default: model.default)."
    ),
    new: bool = typer.Option(
        False, "--new", help="Start a fresh session instead of continuing the last one."
    ),
) -> None:
    """Chat with the agent in the terminal."""
    from hermes.agent.providers.base import ProviderConfigError
    from hermes.store import StoreError

    config = load_or_exit()
    _console_logging(config)
    try:
        code = asyncio.run(_main(config, model=model, new=new))
    except ProviderConfigError as exc:
        print(f"hermes chat: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG) from None
    except StoreError as exc:
        print(f"hermes chat: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILURE) from None
    raise typer.Exit(code)


def _console_logging(config: LoadedConfig) -> None:
    """Warnings go to logs/chat.log, not between the lines of the conversation; errors also to stderr."""
    from logging.handlers import RotatingFileHandler

    from hermes.observability.logging import CONSOLE_FORMAT, FILE_FORMAT, RedactingFormatter, Redactor

    redactor = Redactor(config.secret_values())
    config.paths.logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings = config.settings.logging
    to_file = RotatingFileHandler(
        config.paths.logs / "chat.log",
        maxBytes=settings.max_bytes,
        backupCount=settings.backup_count,
        encoding="utf-8",
    )
    to_file.setFormatter(RedactingFormatter(redactor, FILE_FORMAT))
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.ERROR)
    console.setFormatter(RedactingFormatter(redactor, CONSOLE_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [to_file, console]
    root.setLevel(logging.WARNING)


class _RetryNotice(logging.Handler):
    """A retry of the model as one short line in the chat; the full line is in the log."""

    def __init__(self, repl: Repl) -> None:
        super().__init__(logging.WARNING)
        self.repl = repl

    def emit(self, record: logging.LogRecord) -> None:
        retry, retries = getattr(record, "retry", None), getattr(record, "retries", None)
        if retry is None:
            return
        status = getattr(record, "status", None)
        why = f"HTTP {status}" if status else "no answer"
        self.repl.line(f"  … the model failed ({why}); retrying ({retry} of {retries})")


async def _main(config: LoadedConfig, *, model: str | None, new: bool) -> int:
    from hermes.agent.local import LocalAgent
    from hermes.cli.chat_commands import TerminalHub
    from hermes.store import Store

    config.paths.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = await Store.configured(config.settings.store, config.paths.state_db)
    try:
        agent = LocalAgent(config, store)
        try:
            if new:
                await store.sessions.end_current(SESSION_KEY)
            hub = TerminalHub(store, config.settings.model.default)
            return await Repl(agent, hub, model=model, out=sys.stdout).run(_stdin_lines())
        finally:
            await agent.close()
    finally:
        await store.close()


def _stdin_lines() -> asyncio.Queue[str | None]:
    """Lines of stdin, read on a daemon thread so that quitting never waits for a blocked read."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="hermes-chat-stdin", daemon=True).start()
    return queue


class Repl:
    def __init__(self, agent: LocalAgent, hub: TerminalHub, *, model: str | None, out: TextIO) -> None:
        self.agent = agent
        self.hub = hub
        self.model = model
        self.out = out
        self.interactive = sys.stdin.isatty()
        self.failed = False
        self._cancel: asyncio.Event | None = None
        self._quit = asyncio.Event()
        self._at_line_start = True

    def write(self, text: str) -> None:
        if text:
            self.out.write(text)
            self.out.flush()
            self._at_line_start = text.endswith("\n")

    def line(self, text: str) -> None:
        if not self._at_line_start:
            self.write("\n")
        self.write(text + "\n")

    def _on_interrupt(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        else:
            self._quit.set()

    async def run(self, lines: asyncio.Queue[str | None]) -> int:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, self._on_interrupt)
        notice = _RetryNotice(self)
        logging.getLogger(RETRY_LOGGER).addHandler(notice)
        if self.interactive:
            settings = self.agent.settings.model
            self.line(f"Hermes chat · {self.model or settings.default} via {settings.provider}. {HELP}")
        try:
            while True:
                if self.interactive:
                    self.write("you> ")
                text = await self._next_line(lines)
                if text is None:
                    # A script feeding the chat learns that an answer is missing.
                    return EXIT_FAILURE if self.failed and not self.interactive else 0
                # The terminal echoed the newline the user typed.
                self._at_line_start = True
                text = text.strip()
                if not text:
                    continue
                if text.startswith("/"):
                    if not await self._command(text):
                        return 0
                    continue
                await self._reply(text)
        finally:
            logging.getLogger(RETRY_LOGGER).removeHandler(notice)
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)

    async def _next_line(self, lines: asyncio.Queue[str | None]) -> str | None:
        getting = asyncio.ensure_future(lines.get())
        quitting = asyncio.ensure_future(self._quit.wait())
        try:
            await asyncio.wait({getting, quitting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            quitting.cancel()
        if not getting.done():
            getting.cancel()
            self.line("")
            return None
        return getting.result()

    async def _command(self, text: str) -> bool:
        """Handles a slash command; False means quit."""
        from hermes.cli.chat_commands import run_command

        name, _, args = text.partition(" ")
        name = name.lower()
        if name in ("/exit", "/quit"):
            return False
        try:
            answer = await run_command(self.hub, SESSION_KEY, text)
        except LookupError:
            self.line(f"Unknown command {name}. {HELP}")
            return True
        # The agent keeps the conversation in memory; the command may have changed it in state.db.
        self.agent.conversations.forget(SESSION_KEY)
        if name == "/model" and args.strip():
            # The conversation's model, just set, now rules over `--model`.
            self.model = None
        if answer:
            self.line(f"{answer}\n{EXIT_HELP}" if name == "/help" else answer)
        retry, self.hub.retry = self.hub.retry, None
        if retry is not None:
            await self._reply(retry.text)
        return True

    async def _reply(self, text: str) -> None:
        from hermes.agent.contract import (
            Failed,
            Final,
            Origin,
            RunRequest,
            TextDelta,
            ToolFinished,
            ToolStarted,
        )

        request = RunRequest(
            session_key=SESSION_KEY,
            text=text,
            platform="cli",
            chat_kind="dm",
            platform_hint="You are chatting in a terminal. Prefer plain text; Markdown is shown as typed.",
            model_override=self.model,
            origin=Origin("cli", "local", "dm"),
        )
        self._cancel = self.hub.lane_.cancel = asyncio.Event()
        try:
            async for event in self.agent.run(request, self._cancel):
                if isinstance(event, TextDelta):
                    self.write(event.text)
                elif isinstance(event, ToolStarted):
                    self.line(f"  ⚙ {event.name}({_preview(event.arguments)})")
                elif isinstance(event, ToolFinished):
                    self.line(f"  {'✓' if event.ok else '✗'} {event.name}: {event.summary}")
                elif isinstance(event, Final):
                    if not self._at_line_start:
                        self.write("\n")
                elif isinstance(event, Failed):
                    self.failed = self.failed or not event.cancelled
                    self.line("(stopped)" if event.cancelled else f"error: {event.message}")
        finally:
            self._cancel = self.hub.lane_.cancel = None


def _preview(arguments: dict[str, object]) -> str:
    text = json.dumps(arguments, ensure_ascii=False)[1:-1]
    return text if len(text) <= _ARGS_PREVIEW else text[: _ARGS_PREVIEW - 1] + "…"
