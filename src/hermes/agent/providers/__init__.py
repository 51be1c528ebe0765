"""LLM providers: every module in this package registers its families; `create_provider` picks one by name."""

from __future__ import annotations

import importlib
import pkgutil

from hermes.agent.providers.base import (
    Provider,
    ProviderConfigError,
    provider_factory,
    registered_providers,
)
from hermes.config.settings import Settings

_INFRASTRUCTURE = frozenset({"base", "retry"})


def load_provider_modules() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _INFRASTRUCTURE:
            importlib.import_module(f"{__name__}.{module.name}")


def create_provider(settings: Settings) -> Provider:
    """The provider named by `model.provider`; ProviderConfigError says what is missing."""
    load_provider_modules()
    name = settings.model.provider
    factory = provider_factory(name)
    if factory is None:
        raise ProviderConfigError(
            f"unknown model.provider {name!r}; known: {', '.join(registered_providers())}"
        )
    return factory(settings)
