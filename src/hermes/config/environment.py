"""The environment handed to programs the agent runs: the daemon's own, less anything secret.

A command the model asks for must not be able to read the provider key or a platform token with `env`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from hermes.config.loader import leaves
from hermes.config.sections import withheld_prefixes

_CREDENTIAL_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION", re.IGNORECASE)


def command_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    source = os.environ if environ is None else environ
    secret_names = {name for leaf in leaves() if leaf.secret for name in leaf.env}
    # Hermes' own prefixes, and other vendors' credentials an extension reads (its `PrefixRule`).
    own_prefixes = withheld_prefixes()

    def harmless(name: str) -> bool:
        return (
            name not in secret_names
            and not name.startswith(own_prefixes)
            and not _CREDENTIAL_NAME.search(name)
        )

    return {name: value for name, value in source.items() if harmless(name)}
