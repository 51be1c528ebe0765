"""The wizard's questions and answers, asked the same way whether a person answers them or flags do.

A `Question` is keyed by the setting it fills (`matrix.homeserver`) and names its flag. With a person at
the terminal, a flag's value becomes the suggested answer; with `--non-interactive`, the flag (or the
current setting) is the answer, and a missing one stops the wizard naming the flag. A live check that fails
says what was wrong and lets the person change just the answer at fault, then checks again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hermes.platforms.base import Check
from hermes.platforms.wizard import Choice, Fix, Prompter, Question, SetupStopped, as_default


@dataclass
class Form:
    """The wizard's `SetupForm` (see `hermes.platforms.wizard`), for the model section and the platforms'."""

    ui: Prompter
    interactive: bool
    given: Mapping[str, Any] = field(default_factory=dict)
    checks: bool = True
    answers: dict[str, Any] = field(default_factory=dict)
    _explained: set[str] = field(default_factory=set)

    def ask(self, question: Question, default: str | None = None) -> Any:
        """The answer to `question`, parsed; `default` is the current setting (Enter keeps it)."""
        flagged = self.given.get(question.key)
        suggested = str(flagged) if flagged is not None else default
        if not self.interactive:
            raw = (suggested or "").strip()
            if not raw and not question.optional:
                raise SetupStopped(f"{question.flag} is needed ({question.prompt.lower()})", 2)
            try:
                value = question.parse(raw)
            except ValueError as exc:
                raise SetupStopped(f"{question.flag}: {exc}", 2) from None
            self.answers[question.key] = value
            return value
        if question.explain and question.key not in self._explained:
            self._explained.add(question.key)
            self.ui.say(question.explain)
        while True:
            raw = self.ui.ask(question.prompt, default=suggested, secret=question.secret)
            if not raw and not question.optional:
                self.ui.fail("This one needs an answer.")
                continue
            try:
                value = question.parse(raw)
            except ValueError as exc:
                self.ui.fail(str(exc))
                continue
            self.answers[question.key] = value
            return value

    def choose(
        self, key: str, prompt: str, flag: str, choices: Sequence[Choice], default: str | None = None
    ) -> str:
        values = [choice.value for choice in choices]
        flagged = self.given.get(key)
        if flagged is not None and flagged not in values:
            raise SetupStopped(f"{flag}: {flagged!r} is not one of {', '.join(values)}", 2)
        suggested = flagged if flagged is not None else default
        if not self.interactive:
            if suggested is None:
                raise SetupStopped(f"{flag} is needed (one of {', '.join(values)})", 2)
            picked = suggested
        else:
            picked = self.ui.choose(prompt, choices, default=suggested)
        self.answers[key] = picked
        return picked

    def choose_many(
        self, key: str, prompt: str, flag: str, choices: Sequence[Choice], selected: Sequence[str]
    ) -> list[str]:
        values = [choice.value for choice in choices]
        flagged = self.given.get(key)
        if flagged:
            unknown = [item for item in flagged if item not in values]
            if unknown:
                raise SetupStopped(f"{flag}: {', '.join(unknown)} not one of {', '.join(values)}", 2)
        suggested = list(flagged) if flagged else list(selected)
        picked = self.ui.choose_many(prompt, choices, selected=suggested) if self.interactive else suggested
        self.answers[key] = picked
        return picked

    def verify(self, what: str, check: Callable[[], Check], fixes: Sequence[Fix]) -> Check | None:
        """Run a live check until it passes; on a failure, let the person change one answer (or go on
        without a passing check). Without a person, a failure stops the wizard."""
        if not self.checks:
            self.ui.say(f"  (not checking {what}: --no-check)")
            return None
        while True:
            self.ui.say(f"  Checking {what}…")
            outcome = check()
            if outcome.ok:
                self.ui.ok(outcome.label)
                return outcome
            self.ui.fail(outcome.label, outcome.fix)
            if not self.interactive:
                fix = f" — {outcome.fix}" if outcome.fix else ""
                raise SetupStopped(f"{what}: {outcome.label}{fix}")
            options = [Choice(fix.question.key, fix.label) for fix in fixes]
            options += [Choice("again", "Check again"), Choice("accept", "Keep these answers anyway")]
            known = {fix.question.key: fix.question for fix in fixes}
            default = outcome.suspect if outcome.suspect in known else "again"
            picked = self.ui.choose("What do you want to change?", options, default=default)
            if picked == "accept":
                self.ui.say(f"  Going on without a working check of {what}.")
                return None
            if picked != "again":
                question = known[picked]
                self.ask(question, None if question.secret else as_default(self.answers.get(picked)))
