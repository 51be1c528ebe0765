from __future__ import annotations


class ConfigError(Exception):
    """A setting the daemon cannot start with. `str()` is one line per problem, ready for an operator."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
