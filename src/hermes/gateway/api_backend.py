"""`platforms.api_server.backend.ApiBackend` over the running gateway: skills from the skills directory,
tool families from the tool registry, readiness from the store, the home and the platforms."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hermes.agent.skills import SkillIndex
from hermes.agent.tools import load_tool_modules, select_tools
from hermes.agent.tools.base import ConditionalTool, Tool
from hermes.agent.tools.mcp import SEPARATOR as MCP_SEPARATOR
from hermes.agent.tools.mcp import McpTool
from hermes.config import LoadedConfig
from hermes.gateway.api_jobs import ApiJobs

if TYPE_CHECKING:
    from hermes.gateway.hub import Hub

# Used space of the home's disk from which readiness reports `degraded`, as the reference does.
DISK_DEGRADED_PERCENT = 90.0


class GatewayApiBackend:
    def __init__(self, hub: Hub, config: LoadedConfig) -> None:
        self.hub = hub
        self.store = hub.store
        self.jobs = ApiJobs(hub.store)
        self.config = config
        self._skills = SkillIndex(config.paths.skills)

    def skills(self) -> list[dict[str, Any]]:
        found = sorted(self._skills.scan(), key=lambda s: (s.category, s.name))
        return [{"name": s.name, "description": s.description, "category": s.category} for s in found]

    def toolsets(self, platform: str) -> list[dict[str, Any]]:
        settings = self.config.settings
        offered = {tool.name for tool in select_tools(load_tool_modules().values(), settings, platform)}
        families: dict[str, list[Tool]] = {}
        for tool in load_tool_modules().values():
            families.setdefault(_family(tool), []).append(tool)
        sets = []
        for name, tools in sorted(families.items()):
            names = sorted(tool.name for tool in tools)
            sets.append(
                {
                    "name": name,
                    "label": name.replace("_", " ").capitalize(),
                    "description": _description(tools[0]),
                    "enabled": any(tool in offered for tool in names),
                    "configured": all(
                        not isinstance(tool, ConditionalTool) or tool.available(settings) for tool in tools
                    ),
                    "tools": names,
                }
            )
        return sets

    async def readiness(self) -> dict[str, Any]:
        checks = {
            "state_db": await self._state_db(),
            "config": self._config(),
            "model": {"status": "ok" if self.config.settings.model.default else "degraded"},
            "disk": await asyncio.to_thread(self._disk),
            "gateway": self._gateway(),
            "background_queues": {
                "status": "ok",
                "active_api_runs": self.hub.requests.in_flight,
                "process_completions": 0,
                "active_delegations": 0,
            },
        }
        status = "ok" if all(check["status"] == "ok" for check in checks.values()) else "degraded"
        now = _iso(time.time())
        platforms = {
            name: _platform_state(platform.problem, now) for name, platform in self.hub.platforms.items()
        }
        active = self.hub.runs_in_flight
        return {
            "status": status,
            "readiness": {"status": status, "checks": checks},
            "gateway_state": "running",
            "platforms": platforms,
            "active_agents": active,
            "gateway_busy": active > 0,
            "gateway_drainable": True,
            "exit_reason": None,
            "updated_at": now,
            "pid": os.getpid(),
        }

    def answer_approval(self, question_id: str, approve: bool) -> bool:
        return self.hub.approvals.resolve(question_id, approve)

    def waiting_approvals(self) -> set[str]:
        return set(self.hub.approvals.pending())

    async def _state_db(self) -> dict[str, Any]:
        try:
            await self.store.db.run(lambda conn: conn.execute("SELECT 1").fetchone())
        except Exception as exc:
            return {"status": "degraded", "detail": type(exc).__name__}
        return {"status": "ok"}

    def _config(self) -> dict[str, Any]:
        if not self.config.paths.config_file.exists():
            return {"status": "ok", "detail": "using defaults"}
        return {"status": "ok"}

    def _disk(self) -> dict[str, Any]:
        usage = shutil.disk_usage(self.config.paths.home)
        used = round(100 * usage.used / usage.total, 1) if usage.total else 0.0
        return {
            "status": "ok" if used < DISK_DEGRADED_PERCENT else "degraded",
            "used_percent": used,
            "free_bytes": usage.free,
        }

    def _gateway(self) -> dict[str, Any]:
        platforms = self.hub.platforms.values()
        connected = sum(1 for platform in platforms if platform.problem is None)
        return {
            "status": "ok",
            "state": "running",
            "connected_platforms": connected,
            "platforms": len(self.hub.platforms),
        }


def _family(tool: Tool) -> str:
    """A tool's family: the module that defines it (MCP tools: their server's prefix)."""
    module = type(tool).__module__.rpartition(".")[2]
    if isinstance(tool, McpTool):
        return f"mcp_{tool.name.split(MCP_SEPARATOR, 1)[0]}"
    return module


def _description(tool: Tool) -> str:
    module = sys.modules.get(type(tool).__module__)
    doc = (module.__doc__ if module is not None else None) or tool.description
    return doc.strip().splitlines()[0]


def _platform_state(problem: str | None, now: str) -> dict[str, Any]:
    if problem is None:
        return {"state": "connected", "updated_at": now}
    return {"state": "retrying", "error_message": problem, "updated_at": now}


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()
