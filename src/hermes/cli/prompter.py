"""Which prompter the wizard and the chat use: arrow-key menus on a terminal, numbered lines otherwise."""

from __future__ import annotations

import sys

from hermes.cli.line_prompter import LinePrompter
from hermes.cli.terminal import TtyPrompter
from hermes.platforms.wizard import Prompter


def prompter_for_stdio() -> Prompter:
    if sys.stdin.isatty() and sys.stdout.isatty():
        return TtyPrompter(sys.stdin.fileno(), sys.stdout)
    return LinePrompter(sys.stdin, sys.stdout)
