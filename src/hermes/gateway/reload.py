"""What a reload of the settings (SIGHUP, `hermes gateway reload`) changes in a running gateway.

Applied at once: the gateway-wide allowlist and the hub's limits (message age, bots, busy input, routing).
A platform whose own settings section changed is restarted with them (it reconnects); one newly enabled is
started, one disabled is stopped. Runs in flight are left alone. Anything else (the model, tools, logging,
...) takes a restart of the daemon, and the answer says which keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hermes.config.loader import LoadedConfig, leaves
from hermes.platforms.base import registered

# The keys behind `HubOptions` and the gateway-wide allowlist: the hub takes them without a restart.
APPLIED_AT_ONCE = frozenset(
    {
        "gateway.allowed_users",
        "gateway.allow_all_users",
        "gateway.max_message_age_seconds",
        "gateway.allow_bots",
        "gateway.max_bot_replies",
        "display.busy_input_mode",
        "display.tool_progress",
        "group_sessions_per_user",
        "thread_sessions_per_user",
    }
)


@dataclass
class ReloadResult:
    refused: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    needs_restart: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "refused": self.refused,
            "applied": self.applied,
            "restarted": self.restarted,
            "needs_restart": self.needs_restart,
        }


def changed_keys(old: LoadedConfig, new: LoadedConfig) -> list[str]:
    """By name: the order of the settings depends on which sections are registered."""
    return sorted(leaf.key for leaf in leaves() if old.value(leaf.key) != new.value(leaf.key))


def platform_section(config: LoadedConfig, platform: str) -> Any:
    """The platform's own settings (its registered section); None for a platform without one."""
    cls = registered().get(platform)
    return config.section(cls.settings) if cls is not None and cls.settings is not None else None


def sort_changes(keys: Iterable[str], platforms: Iterable[str]) -> tuple[list[str], list[str]]:
    """Changed keys the running gateway takes (at once, or by restarting a platform), and the others."""
    sections = tuple(f"{name}." for name in platforms)
    taken: list[str] = []
    others: list[str] = []
    for key in keys:
        (taken if key in APPLIED_AT_ONCE or key.startswith(sections) else others).append(key)
    return taken, others
