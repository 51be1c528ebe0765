"""Finding the code that extends Hermes, so that it registers itself.

Three ways in, all ending in an import whose side effect is a `register` call:
- the packages under `hermes.platforms` (the platforms shipped with Hermes);
- installed distributions declaring an entry point in the group `hermes.platforms`, e.g. in their
  pyproject.toml: `[project.entry-points."hermes.platforms"] echo = "hermes_echo"`;
- the modules named in `gateway.plugins` (config.yaml), for code that is importable but not installed.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from importlib.metadata import entry_points

from hermes.config.errors import ConfigError

ENTRY_POINT_GROUP = "hermes.platforms"

_discovered = False


def discover() -> None:
    """Import the in-tree platform packages and every `hermes.platforms` entry point, once."""
    global _discovered
    if _discovered:
        return
    import hermes.platforms as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg:
            importlib.import_module(f"{package.__name__}.{module.name}")
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            point.load()
        except Exception as exc:
            owner = point.dist.name if point.dist is not None else "an installed distribution"
            raise ConfigError(
                [
                    f"plugin error: {owner} declares the {ENTRY_POINT_GROUP} entry point "
                    f"{point.name} = {point.value}, which cannot be loaded: {type(exc).__name__}: {exc}"
                ]
            ) from None
    _discovered = True


def import_plugins(modules: Iterable[str]) -> None:
    """Import the modules `gateway.plugins` names; one clear error for one that cannot be imported."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            problem = f"config error: gateway.plugins names {module!r}, which cannot be imported: {exc}"
            raise ConfigError([problem]) from None
