"""Finding the code that extends Hermes, so that it registers itself.

Platforms, LLM providers and agent tools come in three ways, all ending in an import whose side effect
is a `register` call (`platforms.base.register`, `agent.providers.base.register_provider`,
`agent.tools.base.register_tool`):
- the modules shipped with Hermes: the packages under `hermes.platforms`, the modules under
  `hermes.agent.providers` and `hermes.agent.tools`;
- installed distributions declaring an entry point in the group `hermes.platforms`, `hermes.providers`
  or `hermes.tools`, e.g. in their pyproject.toml:
  `[project.entry-points."hermes.platforms"] echo = "hermes_echo"`;
- the modules named in `gateway.plugins` (config.yaml), for code that is importable but not installed.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from importlib.metadata import entry_points

from hermes.config.errors import ConfigError

ENTRY_POINT_GROUP = "hermes.platforms"
# The entry-point groups, with the in-tree package each one extends.
GROUPS = {
    ENTRY_POINT_GROUP: "hermes.platforms",
    "hermes.providers": "hermes.agent.providers",
    "hermes.tools": "hermes.agent.tools",
}

_discovered = False
_discovering = False


def discover() -> None:
    """Import the in-tree extensions and every entry point of the groups above, once."""
    global _discovered, _discovering
    # A module being imported here may ask for the registry in turn: it sees what is registered so far.
    if _discovered or _discovering:
        return
    _discovering = True
    try:
        for group, package_name in GROUPS.items():
            _import_in_tree(package_name)
            _load_entry_points(group)
    finally:
        _discovering = False
    _discovered = True


def _import_in_tree(package_name: str) -> None:
    """Every platform package, or every provider and tool module (each registers itself on import)."""
    package = importlib.import_module(package_name)
    platforms = package_name == GROUPS[ENTRY_POINT_GROUP]
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg or not platforms:
            importlib.import_module(f"{package_name}.{module.name}")


def _load_entry_points(group: str) -> None:
    for point in entry_points(group=group):
        try:
            point.load()
        except Exception as exc:
            owner = point.dist.name if point.dist is not None else "an installed distribution"
            raise ConfigError(
                [
                    f"plugin error: {owner} declares the {group} entry point "
                    f"{point.name} = {point.value}, which cannot be loaded: {type(exc).__name__}: {exc}"
                ]
            ) from None


def import_plugins(modules: Iterable[str]) -> None:
    """Import the modules `gateway.plugins` names; one clear error for one that cannot be imported."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            problem = f"config error: gateway.plugins names {module!r}, which cannot be imported: {exc}"
            raise ConfigError([problem]) from None
