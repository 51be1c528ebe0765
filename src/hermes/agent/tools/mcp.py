"""MCP servers (`mcp_servers.<name>` in config.yaml) and their tools, through the official `mcp` SDK.

    mcp_servers:
      files:  {command: npx, args: [-y, "@modelcontextprotocol/server-filesystem", /srv], env: {...}}
      remote: {url: "https://mcp.example.com/mcp", headers: {Authorization: "Bearer ${TOKEN}"}}

Each server's tools are registered as `<server>__<tool>` while the server runs, so `tools.enabled` /
`tools.disabled` filter them like any other. A server that cannot start, or that dies later (noticed by a
failing call or by a periodic request), is reported once in the log and its tools are unregistered; the other
servers keep working. `McpServers.start()` returns once every server is up or has failed, so an agent built
afterwards sees their tools.

Each connection lives in a task of its own: the SDK's transports must be entered and left in one task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hermes.agent.tools.base import ToolContext, ToolResult, register_tool, registered_tools, unregister_tool
from hermes.config.paths import HermesPaths
from hermes.config.settings import Settings

if TYPE_CHECKING:
    from mcp import Client

log = logging.getLogger(__name__)

SEPARATOR = "__"
MAX_TOOL_NAME = 64
HEARTBEAT_SECONDS = 30.0
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
ServerState = Literal["starting", "running", "failed", "stopped"]


class ServerConfig(BaseModel):
    """One entry of `mcp_servers`: `command` (+ `args`, `env`, `cwd`) for stdio, or `url` (+ `headers`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    command: str | None = None
    args: list[str] = []
    env: dict[str, str] = {}
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    timeout: float = Field(default=120.0, gt=0)
    connect_timeout: float = Field(default=60.0, gt=0)
    enabled: bool = True

    @model_validator(mode="after")
    def _one_transport(self) -> ServerConfig:
        if bool(self.command) == bool(self.url):
            raise ValueError("give either command (a stdio server) or url (a streamable HTTP server)")
        return self


def safe_name(text: str) -> str:
    return _UNSAFE.sub("_", text)


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    leaf = _leaf(exc)
    if isinstance(leaf, TimeoutError):
        return "it did not answer in time"
    text = str(leaf) or type(leaf).__name__
    return f"{type(leaf).__name__}: {text}" if not isinstance(leaf, OSError) else text


def _is_connection_loss(exc: BaseException) -> bool:
    import anyio
    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED

    leaf = _leaf(exc)
    if isinstance(leaf, MCPError):
        return leaf.code == CONNECTION_CLOSED
    return isinstance(leaf, anyio.ClosedResourceError | anyio.BrokenResourceError | ConnectionError)


def render_result(result: Any) -> ToolResult:
    """A CallToolResult as text for the model."""
    parts: list[str] = []
    for block in result.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind}: {block.mime_type}, {len(block.data)} base64 chars]")
        elif kind == "resource_link":
            parts.append(f"[resource: {block.uri}]")
        elif kind == "resource":
            resource = block.resource
            parts.append(getattr(resource, "text", None) or f"[binary resource: {resource.uri}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(parts) or "(no output)"
    if result.is_error:
        return ToolResult.error(text)
    return ToolResult(text)


class McpTool:
    """One remote tool, registered as `<server>__<tool>`."""

    reads_untrusted = True

    def __init__(self, server: McpServer, remote_name: str, description: str, schema: dict[str, Any]) -> None:
        self.server = server
        self.remote_name = remote_name
        self.name = f"{safe_name(server.name)}{SEPARATOR}{safe_name(remote_name)}"[:MAX_TOOL_NAME]
        self.description = description or f"The {remote_name!r} tool of the {server.name!r} MCP server."
        parameters = dict(schema) if isinstance(schema, dict) else {}
        parameters["type"] = "object"
        parameters.setdefault("properties", {})
        self.parameters = parameters

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return await self.server.call(self.remote_name, args)


class McpServer:
    def __init__(
        self, name: str, config: ServerConfig, *, log_dir: Path | None, heartbeat: float = HEARTBEAT_SECONDS
    ) -> None:
        self.name = name
        self.config = config
        self.log_dir = log_dir
        self.heartbeat = heartbeat
        self.state: ServerState = "starting"
        self.problem: str | None = None
        self.tools: dict[str, McpTool] = {}
        self.ready = asyncio.Event()
        self._client: Client | None = None
        self._stopping = asyncio.Event()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mcp-{self.name}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is None:
            return
        if self.state == "starting":
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def call(self, remote_name: str, args: dict[str, Any]) -> ToolResult:
        client = self._client
        if client is None or self.state != "running":
            why = f": {self.problem}" if self.problem else ""
            return ToolResult.error(
                f"MCP server {self.name!r} is not running{why}; its tools are unavailable"
            )
        try:
            result = await client.call_tool(remote_name, args, read_timeout_seconds=self.config.timeout)
        except Exception as exc:
            if _is_connection_loss(exc):
                self._mark_lost(_describe(exc))
                return ToolResult.error(
                    f"MCP server {self.name!r} stopped; its tools are no longer available"
                )
            return ToolResult.error(f"MCP server {self.name!r}: {_describe(exc)}")
        return render_result(result)

    def _mark_lost(self, problem: str) -> None:
        if not self._lost.is_set():
            self.problem = f"the connection was lost ({problem})"
            self._lost.set()

    async def _run(self) -> None:
        stopped_by_us = False
        had_tools = 0
        try:
            async with contextlib.AsyncExitStack() as stack:
                # asyncio.timeout, not wait_for: the SDK's task groups must be entered in this very task.
                async with asyncio.timeout(self.config.connect_timeout):
                    client = await self._connect(stack)
                    listing = await _list_all(client)
                self._client = client
                self._register(listing)
                had_tools = len(self.tools)
                self.state = "running"
                self.ready.set()
                log.info("MCP server %s: running with %d tool(s)", self.name, had_tools)
                stopped_by_us = await self._watch(client)
                # Retired before the transport's (possibly slow) shutdown, so no call starts meanwhile.
                self._retire("stopped" if stopped_by_us else "failed")
        except asyncio.CancelledError:
            stopped_by_us = True
            raise
        except Exception as exc:
            self.problem = self.problem or _describe(exc)
        finally:
            self._retire("stopped" if stopped_by_us else "failed")
            if not stopped_by_us:
                if had_tools:
                    log.error(
                        "MCP server %s stopped: %s; its %d tool(s) are removed",
                        self.name,
                        self.problem,
                        had_tools,
                    )
                else:
                    log.error(
                        "MCP server %s failed to start: %s; its tools are unavailable",
                        self.name,
                        self.problem,
                    )

    def _retire(self, state: ServerState) -> None:
        self._client = None
        for name, tool in self.tools.items():
            if registered_tools().get(name) is tool:
                unregister_tool(name)
        self.tools = {}
        if self.state in ("starting", "running"):
            self.state = state
        self.ready.set()

    async def _connect(self, stack: contextlib.AsyncExitStack) -> Client:
        from mcp import Client, StdioServerParameters
        from mcp.client.stdio import stdio_client

        config = self.config
        if config.command:
            params = StdioServerParameters(
                command=config.command, args=config.args, env=config.env or None, cwd=config.cwd
            )
            errlog = await asyncio.to_thread(self._open_errlog)
            stack.callback(errlog.close)
            transport: Any = stdio_client(params, errlog=errlog)
        else:
            transport = await self._http_transport(stack)
        client = Client(transport, read_timeout_seconds=config.timeout)
        return await stack.enter_async_context(client)

    async def _http_transport(self, stack: contextlib.AsyncExitStack) -> Any:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        assert self.config.url is not None
        http = httpx2.AsyncClient(
            headers=self.config.headers, timeout=httpx2.Timeout(30.0, read=self.config.timeout)
        )
        await stack.enter_async_context(http)
        return streamable_http_client(self.config.url, http_client=http)

    def _open_errlog(self) -> Any:
        """The server's stderr goes to logs/mcp-<name>.log (or nowhere without a log directory)."""
        if self.log_dir is None:
            return open("/dev/null", "w")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return open(self.log_dir / f"mcp-{safe_name(self.name)}.log", "a", encoding="utf-8")

    async def _watch(self, client: Client) -> bool:
        """Wait for a stop (True) or a lost connection (False); ask now and then, to notice a silent death."""
        stop = asyncio.ensure_future(self._stopping.wait())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            while True:
                await asyncio.wait({stop, lost}, timeout=self.heartbeat, return_when=asyncio.FIRST_COMPLETED)
                if stop.done():
                    return True
                if lost.done():
                    return False
                try:
                    # Not ping: servers of the 2026 protocol no longer answer it.
                    async with asyncio.timeout(self.config.connect_timeout):
                        await client.list_tools(cache_mode="refresh")
                except Exception as exc:
                    self._mark_lost(_describe(exc))
        finally:
            stop.cancel()
            lost.cancel()

    def _register(self, listing: list[Any]) -> None:
        taken = registered_tools()
        for remote in listing:
            tool = McpTool(self, remote.name, remote.description or "", remote.input_schema)
            if tool.name in taken or tool.name in self.tools:
                log.warning(
                    "MCP server %s: tool name %s is taken; %r is left out", self.name, tool.name, remote.name
                )
                continue
            self.tools[tool.name] = tool
            register_tool(tool)


async def _list_all(client: Client) -> list[Any]:
    tools: list[Any] = []
    cursor: str | None = None
    for _ in range(100):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


class McpServers:
    """The configured MCP servers: start them together, stop them together."""

    def __init__(
        self,
        configs: Mapping[str, Mapping[str, Any]],
        *,
        log_dir: Path | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.servers: dict[str, McpServer] = {}
        for name, raw in configs.items():
            try:
                config = ServerConfig.model_validate(raw)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or name}: {e['msg']}" for e in exc.errors()
                )
                log.error(
                    "MCP server %s is misconfigured (mcp_servers.%s): %s; skipped", name, name, problems
                )
                continue
            if config.enabled:
                self.servers[name] = McpServer(name, config, log_dir=log_dir, heartbeat=heartbeat)

    @classmethod
    def from_settings(cls, settings: Settings, paths: HermesPaths) -> McpServers:
        return cls(settings.mcp_servers, log_dir=paths.logs)

    async def start(self, wait: float | None = None) -> None:
        """Start every server; return once each is running or has failed (bounded by its connect_timeout),
        or after `wait` seconds: a server still starting then goes on in the background and its tools are
        registered when it is up (agents following the registry pick them up on their next run)."""
        for server in self.servers.values():
            server.start()
        if not self.servers:
            return
        waits = {asyncio.ensure_future(server.ready.wait()): name for name, server in self.servers.items()}
        _, pending = await asyncio.wait(waits, timeout=wait)
        for waiting in pending:
            waiting.cancel()
            log.warning(
                "MCP server %s is still starting after %.0f s; going on without it, its tools arrive when it "
                "is up",
                waits[waiting],
                wait,
            )

    async def close(self) -> None:
        await asyncio.gather(*(server.stop() for server in self.servers.values()), return_exceptions=True)

    async def __aenter__(self) -> McpServers:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
