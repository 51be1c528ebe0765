"""Every command's --help, as a user reads it: flags take no value, so none is shown beside them."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from hermes.cli.app import app


def command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            paths += command_paths(sub, (*path, name))
    return paths


def test_no_flag_shows_a_type_in_help() -> None:
    runner = CliRunner()
    paths = command_paths(typer.main.get_command(app))
    assert ("gateway", "setup") in paths and ("config", "set") in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
        for line in result.output.splitlines():
            if "--verbose" in line:
                assert "<int>" not in line, line
