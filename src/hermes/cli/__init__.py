"""The `hermes` command. `--version` is answered before anything heavy is imported: process managers and
scripts call it often, and it should cost no more than starting Python."""

from __future__ import annotations

import sys


def version_line() -> str:
    from hermes import __release_date__, __version__

    return f"Hermes Gateway v{__version__} ({__release_date__})"


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        print(version_line())
        return
    from hermes.cli.app import app

    app()
