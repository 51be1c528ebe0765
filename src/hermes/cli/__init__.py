"""The `hermes` command. `--version` is answered before anything heavy is imported: process managers and
scripts call it often, and it should cost no more than starting Python."""

from __future__ import annotations

import sys


def version_line() -> str:
    from hermes import __release_date__, __version__

    return f"Hermes Gateway v{__version__} ({__release_date__})"


def _home_or_exit() -> None:
    """Every command works in HERMES_HOME: one that cannot be used ends here, in one line (exit 78)."""
    import os

    from hermes.cli.common import EXIT_CONFIG
    from hermes.config.paths import HermesPaths

    problem = HermesPaths.resolve(os.environ).problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        raise SystemExit(EXIT_CONFIG)


def main() -> None:
    args = sys.argv[1:]
    if args in (["--version"], ["-V"]):
        print(version_line())
        return
    if args and not {"--help", "-h", "--version", "-V"} & set(args):
        _home_or_exit()
    from hermes.cli.app import app

    app()
