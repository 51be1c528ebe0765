"""The environment names Hermes owns: the prefixes of its settings (the core's and every registered
section's, see `sections.py`) and the few names read outside the settings model. Secret hiding
(`environment.py`) and the typo check of `.env` files both read them here."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Read by Hermes itself but not settings: where the home is, the database of a replicated gateway, the
# dashboard's terminal mode.
OTHER_NAMES = frozenset({"HERMES_HOME", "HERMES_DATABASE_URL", "HERMES_DASHBOARD_TUI"})


def setting_prefixes() -> tuple[str, ...]:
    """A key in `.env` with one of these prefixes is meant for Hermes; one no setting knows is most likely
    a typo."""
    from hermes.config.sections import env_prefixes

    return env_prefixes()


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` is most likely a typo of, if any is close enough. Names with a prefix of ours
    are compared on what follows it: every MATRIX_ name looks alike by its first seven letters."""
    prefix = next((p for p in setting_prefixes() if name.startswith(p)), "")
    candidates = {k[len(prefix) :]: k for k in known if k.startswith(prefix)}
    found = difflib.get_close_matches(name[len(prefix) :], list(candidates), n=1, cutoff=0.75)
    return candidates[found[0]] if found else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    suggestion = closest(name, known)
    return f" (did you mean {suggestion}?)" if suggestion else ""
