"""What every command needs: the loaded configuration, or one clear line and the right exit code.

Configuration is imported inside the function: building the settings models costs ~100 ms, which
`hermes --help` should not pay.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

# sysexits' EX_CONFIG: a service manager can be told not to restart on it (RestartPreventExitStatus=78).
EXIT_CONFIG = 78
EXIT_FAILURE = 1


def load_or_exit() -> LoadedConfig:
    from hermes.config import ConfigError, load_config

    try:
        return load_config()
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG) from None
