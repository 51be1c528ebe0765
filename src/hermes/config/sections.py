"""Settings sections contributed by extensions (platform packages, in-tree or installed plugins).

The core `Settings` model knows nothing of them. An extension registers a `SectionSpec` naming its
config.yaml block, its pydantic model (fields carry `Env(...)`, `Secret` and a `description`) and the
prefix all its environment names share; the loader, `hermes config reference/show/set`, the generated
docs, log redaction and the environment handed to commands then treat its keys like any core key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from hermes.config.settings import Env, Section, Settings

# Environment prefixes the core itself owns; extensions add theirs through their sections. (AWS_ names are
# read too, but the AWS tools share them: they are not all ours.)
CORE_ENV_PREFIXES = ("HERMES_", "GATEWAY_")


@dataclass(frozen=True)
class SectionSpec:
    """One extension's block of settings: `key:` in config.yaml, `key.name` as dotted keys."""

    key: str
    model: type[Section]
    summary: str
    env_prefix: str
    # (symptom, remedy) pairs, shown with the section in docs/configuration.md.
    troubleshooting: tuple[tuple[str, str], ...] = ()


_sections: dict[str, SectionSpec] = {}


def _env_names(model: type[BaseModel]) -> Iterator[str]:
    for info in model.model_fields.values():
        annotation: Any = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _env_names(annotation)
        for item in info.metadata:
            if isinstance(item, Env):
                yield from item.names


def register_section(spec: SectionSpec) -> None:
    """Make `spec`'s keys settings. Refuses a key the core or another extension owns, and environment
    names outside the section's prefix (they would escape the prefix-based secret and typo rules)."""
    if spec.key in Settings.model_fields:
        raise ValueError(f"settings section {spec.key!r} is a core section")
    existing = _sections.get(spec.key)
    if existing is not None and existing.model is not spec.model:
        raise ValueError(f"settings section {spec.key!r} is taken by {existing.model.__module__}")
    if not spec.env_prefix.endswith("_") or not spec.env_prefix.isupper():
        raise ValueError(f"settings section {spec.key!r}: env prefix {spec.env_prefix!r} is not like 'NAME_'")
    outside = [name for name in _env_names(spec.model) if not name.startswith(spec.env_prefix)]
    if outside:
        raise ValueError(
            f"settings section {spec.key!r}: {', '.join(outside)} do not start with {spec.env_prefix}"
        )
    _sections[spec.key] = spec


def registered_sections() -> dict[str, SectionSpec]:
    """Every section, after the extensions installed or in the tree have been found."""
    from hermes.extensions import discover

    discover()
    # By name, not by import order: the docs and `config show` must not change with what loaded first.
    return dict(sorted(_sections.items()))


def section_for(model: type[Section]) -> SectionSpec:
    for spec in registered_sections().values():
        if spec.model is model:
            return spec
    raise LookupError(f"{model.__qualname__} is not a registered settings section")


def env_prefixes() -> tuple[str, ...]:
    """Every environment prefix Hermes owns: a name with one of these that is not a known setting is
    most likely a typo (`names.setting_prefixes`), and none is handed to commands the agent runs."""
    return CORE_ENV_PREFIXES + tuple(spec.env_prefix for spec in registered_sections().values())
