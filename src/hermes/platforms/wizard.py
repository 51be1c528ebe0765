"""The contract between `hermes gateway setup` and a platform's own section of it.

A platform contributes a `WizardSection`: the flags that answer its questions without a person
(`--non-interactive`), and a `run` function that asks them through a `SetupForm` and checks the answers
live. The wizard (in `hermes.cli`) implements `SetupForm` and `Prompter`; the platform never sees the
terminal, the files, or the other platforms.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hermes.config.settings import Section
    from hermes.platforms.base import Check


class Cancelled(Exception):
    """The operator ended the input (Ctrl-D, or the terminal went away)."""


class SetupStopped(Exception):
    """The wizard cannot go on; the message says why and what to do. `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str = ""


class Prompter(Protocol):
    """How the wizard talks to a person."""

    def say(self, text: str = "") -> None: ...

    def ok(self, text: str) -> None: ...

    def fail(self, text: str, fix: str | None = None) -> None: ...

    def ask(self, question: str, *, default: str | None = None, secret: bool = False) -> str:
        """A line of text; Enter alone gives `default` (or "" when there is none)."""
        ...

    def choose(self, question: str, choices: Sequence[Choice], *, default: str | None = None) -> str: ...

    def choose_many(
        self, question: str, choices: Sequence[Choice], *, selected: Collection[str] = ()
    ) -> list[str]: ...

    def confirm(self, question: str, *, default: bool = False) -> bool: ...


def _text(raw: str) -> str:
    return raw.strip()


@dataclass(frozen=True)
class Question:
    """One answer, keyed by the setting it fills (`matrix.homeserver`), with the flag that gives it."""

    key: str
    prompt: str
    flag: str
    explain: str = ""
    secret: bool = False
    optional: bool = False
    parse: Callable[[str], Any] = _text


@dataclass(frozen=True)
class Fix:
    """One answer the operator may change after a failed check."""

    label: str
    question: Question


class SetupForm(Protocol):
    """What a platform's wizard section may use."""

    @property
    def ui(self) -> Prompter: ...

    @property
    def interactive(self) -> bool: ...

    @property
    def checks(self) -> bool:
        """False with `--no-check`: live checks are skipped."""
        ...

    @property
    def given(self) -> Mapping[str, Any]:
        """Answers given as flags, by setting key (or by a flag's own `key`)."""
        ...

    @property
    def answers(self) -> dict[str, Any]:
        """Every answer so far, parsed, by setting key."""
        ...

    def ask(self, question: Question, default: str | None = None) -> Any: ...

    def choose(
        self, key: str, prompt: str, flag: str, choices: Sequence[Choice], default: str | None = None
    ) -> str: ...

    def verify(self, what: str, check: Callable[[], Check], fixes: Sequence[Fix]) -> Check | None:
        """Run a live check until it passes or the person goes on without it; None when skipped."""
        ...


@dataclass(frozen=True)
class Flag:
    """A `hermes gateway setup` option answering one question: `--matrix-homeserver` gives the answer
    keyed `matrix.homeserver` in `SetupForm.given`."""

    name: str
    key: str
    help: str = ""
    is_int: bool = False


@dataclass(frozen=True)
class WizardSection:
    """A platform's part of `hermes gateway setup`.

    `run` asks, checks live and returns the changes to write, by setting key (None removes a setting);
    `configured` says whether the current settings already set the platform up (it is then preselected);
    `next_steps` is what to tell the operator once the settings are written.
    """

    hint: str
    flags: tuple[Flag, ...]
    run: Callable[[SetupForm, Any], dict[str, Any]]
    configured: Callable[[Section], bool] | None = None
    # Shown after the setup for an enabled platform, given its settings as written: how to reach it.
    next_steps: Callable[[Any], str | None] | None = None


def split_list(raw: str) -> list[str]:
    """A list typed by a person: items separated by commas and/or spaces."""
    import re

    return [item.strip() for item in re.split(r"[,\s]+", raw) if item.strip()]


def as_default(value: Any) -> str | None:
    """A current setting as the text a question suggests."""
    if value in (None, "", []):
        return None
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def confirm_nobody(form: SetupForm, label: str) -> bool:
    """An empty allowlist is allowed (deny by default), but a person is told what it means."""
    if not form.interactive:
        form.ui.say(f"  Nobody is allowed to talk to the bot on {label} yet.")
        return True
    return form.ui.confirm(f"Nobody will be able to talk to the bot on {label}. Leave it like that?")


def parse_url(raw: str) -> str:
    """An http(s) address without a trailing slash; ValueError naming the input otherwise."""
    from urllib.parse import urlparse

    url = raw.strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"{raw!r} is not an http:// or https:// address")
    return url
