"""The `terminal` tool: run a shell command in the workspace, with a timeout and an output cap.

Off unless `tools.terminal.enabled`. A command that does not match `tools.terminal.allow` runs only once the
requesting person approved it in their chat (the gateway posts the exact command and waits, bounded), or
when `tools.terminal.auto_approve` is set. Where nobody can be asked (an API chat request, a scheduled job),
such a command is refused; an API run (`/v1/runs`) asks its followers. No approval, no run.

Each command runs in its own process group, so a timeout (or a cancelled run) kills everything it started,
not just the shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import re
import signal
import unicodedata
from collections import deque
from typing import Annotated, Any, ClassVar

from pydantic import Field

from hermes.agent.tools.base import (
    ToolArgumentError,
    ToolContext,
    ToolResult,
    register_tool,
    register_tool_settings,
    string_arg,
)
from hermes.agent.tools.files import resolve_in, workspace_root
from hermes.config.environment import command_environment
from hermes.config.settings import Section, Settings


class TerminalToolSettings(Section):
    """`tools.terminal` in config.yaml."""

    enabled: Annotated[
        bool, Field(description="Offer the terminal tool (shell commands in the workspace).")
    ] = False
    allow: Annotated[
        list[str],
        Field(default_factory=list, description="Command patterns that run without asking for approval."),
    ]
    auto_approve: Annotated[bool, Field(description="Run every command without asking.")] = False
    timeout_seconds: Annotated[float, Field(gt=0, description="How long one command may run.")] = 120.0
    approval_timeout_seconds: Annotated[
        float, Field(gt=0, description="How long to wait for an approval in the chat.")
    ] = 300.0
    max_output_chars: Annotated[int, Field(ge=100, description="Longer command output is cut.")] = 20_000


# Characters that chain, redirect or substitute: a command holding one never matches the allowlist,
# so `ls*` cannot let `ls; rm -rf ~` through.
_SHELL_CONTROL = frozenset(";&|`$<>()\n\r")
_READ_CHUNK = 65536
_KILL_WAIT = 5.0
_DRAIN_SECONDS = 1.0
# A command needing approval is shown whole or not at all; this keeps it within every platform's limit.
MAX_APPROVAL_COMMAND_CHARS = 1500
# Characters that show nothing (or reorder what follows) are spelled out, so what is approved is what runs.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})


def shown_command(command: str) -> str:
    """The command as a fenced block that shows every character of it and cannot be closed from inside."""
    visible = "".join(
        f"\\u{{{ord(ch):04x}}}" if ch not in "\n\t" and unicodedata.category(ch) in _HIDDEN_CATEGORIES else ch
        for ch in command
    )
    longest = max((len(run) for run in re.findall("`+", visible)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = visible.count("\n") + 1
    size = f"{len(command)} characters" + (f", {lines} lines" if lines > 1 else "")
    return f"{fence}\n{visible}\n{fence}\n({size})"


def allowed_without_approval(command: str, patterns: list[str]) -> bool:
    if any(ch in _SHELL_CONTROL for ch in command):
        return False
    text = command.strip()
    return any(fnmatch.fnmatchcase(text, pattern) for pattern in patterns)


class CappedOutput:
    """Keeps the first and the last part of a stream, counting what falls in between."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 2
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_size = 0
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self.tail.append(data)
        self.tail_size += len(data)
        while self.tail_size > self.tail_limit:
            first = self.tail[0]
            excess = self.tail_size - self.tail_limit
            if len(first) <= excess:
                self.tail.popleft()
                self.tail_size -= len(first)
                self.dropped += len(first)
            else:
                self.tail[0] = first[excess:]
                self.tail_size -= excess
                self.dropped += excess

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        tail = b"".join(self.tail).decode("utf-8", errors="replace")
        if self.dropped:
            return f"{head}\n[… {self.dropped} bytes of output left out …]\n{tail}"
        return head + tail


class TerminalTool:
    name = "terminal"
    reads_untrusted = True
    description = (
        "Run a shell command (sh -c) in your workspace and get its output (stdout and stderr together) "
        "and exit code. Commands outside the operator's allowlist need the user's approval in the chat "
        "first. Non-interactive only: there is no stdin."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The command line to run."},
            "timeout": {
                "type": "integer",
                "minimum": 1,
                "description": "Seconds before the command is killed (capped by the operator's limit).",
            },
            "workdir": {"type": "string", "description": "Directory to run in, relative to the workspace."},
        },
        "required": ["command"],
    }

    def available(self, settings: Settings) -> bool:
        return settings.section(TerminalToolSettings).enabled

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        config = ctx.settings.section(TerminalToolSettings)
        command = string_arg(args, "command")
        if not command.strip():
            raise ToolArgumentError("argument 'command' is blank")
        if "\x00" in command:
            raise ToolArgumentError("argument 'command' contains a NUL byte")
        timeout = _timeout_arg(args, config)
        root = workspace_root(ctx)
        await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
        workdir = string_arg(args, "workdir", required=False)
        cwd = await asyncio.to_thread(resolve_in, root, workdir or ".", what="workdir")
        if not await asyncio.to_thread(cwd.is_dir):
            raise ToolArgumentError(f"workdir {workdir!r} is not a directory in the workspace")
        refusal = await _approval_refusal(command, ctx, config)
        if refusal is not None:
            return ToolResult.error(refusal)
        return await run_command(command, cwd=str(cwd), timeout=timeout, max_chars=config.max_output_chars)


def _timeout_arg(args: dict[str, Any], config: TerminalToolSettings) -> float:
    value = args.get("timeout")
    if value is None:
        return config.timeout_seconds
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ToolArgumentError(f"argument 'timeout' must be a positive number of seconds, got {value!r}")
    return min(float(value), config.timeout_seconds)


async def _approval_refusal(command: str, ctx: ToolContext, config: TerminalToolSettings) -> str | None:
    """Why the command may not run, or None when it may."""
    if config.auto_approve or allowed_without_approval(command, config.allow):
        return None
    # API chat requests have no chat to ask in (no origin); API runs do (their followers answer).
    if ctx.services is None or ctx.origin is None:
        return (
            "this command needs approval and there is nobody to ask here; it did not run. The operator "
            "can allow it with tools.terminal.allow (or tools.terminal.auto_approve)."
        )
    if len(command) > MAX_APPROVAL_COMMAND_CHARS:
        return (
            f"this command is {len(command)} characters long; a command that needs approval may have at "
            f"most {MAX_APPROVAL_COMMAND_CHARS} so that the user sees all of it. It did not run: write a "
            "longer script to a file with write_file and run that file."
        )
    wait = config.approval_timeout_seconds
    prompt = f"🖥️ The assistant wants to run this command:\n\n{shown_command(command)}"
    if await ctx.services.request_approval(ctx.origin, prompt, wait):
        return None
    return f"the user did not approve the command (refused, or no answer within {wait:g} s); it did not run"


async def run_command(command: str, *, cwd: str, timeout: float, max_chars: int) -> ToolResult:
    process = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        command,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=command_environment(),
        start_new_session=True,
    )
    output = CappedOutput(max_chars)
    pump = asyncio.create_task(_pump(process, output))
    timed_out = False
    try:
        async with asyncio.timeout(timeout):
            await process.wait()
            # What is still in the pipe comes quickly; a background child holding it open does not.
            await asyncio.wait({pump}, timeout=_DRAIN_SECONDS)
    except TimeoutError:
        timed_out = True
    finally:
        # Always, also after a normal exit: nothing the command started outlives it.
        await _kill_group(process)
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)
    text = output.text().rstrip()
    if timed_out:
        body = f"{text}\n" if text else ""
        return ToolResult.error(f"{body}[killed after {timeout:g} s: the command did not finish in time]")
    code = process.returncode
    body = text or "(no output)"
    summary = f"exit {code}"
    if code == 0:
        return ToolResult(f"{body}\n[exit code 0]", summary=summary)
    return ToolResult(f"{body}\n[exit code {code}]", ok=False, summary=summary)


async def _pump(process: asyncio.subprocess.Process, output: CappedOutput) -> None:
    assert process.stdout is not None
    while chunk := await process.stdout.read(_READ_CHUNK):
        output.add(chunk)


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(process.wait()), _KILL_WAIT)


register_tool_settings("terminal", TerminalToolSettings)
register_tool(TerminalTool())
