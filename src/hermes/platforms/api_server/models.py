"""The model names the API serves: the advertised one, plain aliases, and `model_routes` aliases.

A request's `model` is never refused (clients such as fleet managers send names of their own): an exact
route alias picks that route's model, anything else runs the configured model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hermes.platforms.api_server.settings import ApiServerSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelCatalog:
    name: str
    aliases: tuple[str, ...] = ()
    # alias -> the model id it runs
    routes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, api: ApiServerSettings) -> ModelCatalog:
        return cls(api.model_name, tuple(api.model_aliases), routes_from(api.model_routes))

    def routed_model(self, requested: object) -> str | None:
        """The model a request's `model` value picks, or None for the configured one."""
        return self.routes.get(requested) if isinstance(requested, str) else None

    def cards(self, created: int) -> dict[str, dict[str, Any]]:
        """`/v1/models` entries by id: the advertised name first, then aliases and routes in config order."""
        cards = {self.name: _card(self.name, created, self.name, None)}
        for alias in self.aliases:
            cards.setdefault(alias, _card(alias, created, self.name, self.name))
        for alias, model in self.routes.items():
            cards.setdefault(alias, _card(alias, created, model, self.name))
        return cards


def routes_from(config: dict[str, Any]) -> dict[str, str]:
    """alias -> model from `api_server.model_routes`, as the reference reads it: an entry that is not a
    mapping with a `model` is dropped with a warning. A route runs its model on the configured provider;
    a route's own `provider`, `base_url` or `api_key` is not supported, and saying so beats ignoring it."""
    routes: dict[str, str] = {}
    for alias, route in config.items():
        model = route.get("model") if isinstance(route, dict) else None
        if not isinstance(model, str) or not model.strip():
            log.warning("api_server.model_routes.%s: no `model`; the route is ignored", alias)
            continue
        unsupported = sorted(set(route) - {"model"})
        if unsupported:
            log.warning(
                "api_server.model_routes.%s: %s not supported; the route runs %s on the configured provider",
                alias,
                ", ".join(unsupported),
                model.strip(),
            )
        routes[str(alias)] = model.strip()
    return routes


def _card(model: str, created: int, root: str, parent: str | None) -> dict[str, Any]:
    return {
        "id": model,
        "object": "model",
        "created": created,
        "owned_by": "hermes",
        "permission": [],
        "root": root,
        "parent": parent,
    }
