"""Models for side tasks (`auxiliary:` in config.yaml): session titles and compression summaries.

A role may name only a model (served by the main provider), or a whole endpoint of its own, as the fleet
manager writes LiteLLM slots: `provider`, `base_url`, `api_key`, `model`, `context_length`. What a role
leaves unset comes from `model:`. A role that cannot be set up (an unknown provider, a missing key) is
reported once at start and the task uses the main model, so a side task never stops the agent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hermes.agent.providers import create_provider
from hermes.agent.providers.base import Provider, ProviderConfigError, registered_providers
from hermes.config.providers import canonical_provider
from hermes.config.settings import AuxiliaryModelSettings, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuxiliaryModel:
    """Where one side task's requests go. `model` None means the model of the run it serves."""

    provider: Provider
    model: str | None
    context_length: int
    # A provider of its own, which the agent closes on shutdown.
    own: bool = False


def auxiliary_model(settings: Settings, role: str, main: Provider) -> AuxiliaryModel:
    wanted: AuxiliaryModelSettings = getattr(settings.auxiliary, role)
    context_length = wanted.context_length or settings.model.context_length
    fallback = AuxiliaryModel(main, None, settings.model.context_length)
    name = _provider_name(wanted, settings.model.provider)
    if name is None:
        log.error(
            "auxiliary.%s: unknown provider %r (known: auto, %s); using the main model",
            role,
            wanted.provider,
            ", ".join(_known()),
        )
        return fallback
    if name == settings.model.provider and not wanted.base_url and not wanted.api_key:
        return AuxiliaryModel(main, wanted.model or None, context_length)
    same = name == settings.model.provider
    endpoint = settings.model.model_copy(
        update={
            "provider": name,
            "default": wanted.model or settings.model.default,
            "base_url": wanted.base_url or (settings.model.base_url if same else None),
            "api_key": wanted.api_key or (settings.model.api_key if same else None),
            "context_length": context_length,
        }
    )
    try:
        provider = create_provider(settings.model_copy(update={"model": endpoint}))
    except ProviderConfigError as exc:
        log.error("auxiliary.%s: %s; using the main model", role, exc)
        return fallback
    return AuxiliaryModel(provider, endpoint.default, context_length, own=True)


def _provider_name(wanted: AuxiliaryModelSettings, main: str) -> str | None:
    name = (wanted.provider or "auto").strip().lower()
    if name == "auto":
        if wanted.base_url:
            return next((s.name for s in registered_providers().values() if s.any_endpoint), main)
        return main
    return canonical_provider(name)


def _known() -> list[str]:
    """Every name a role's `provider` may take, aliases included."""
    specs = registered_providers().values()
    return sorted({*(s.name for s in specs), *(alias for s in specs for alias in s.aliases)})
