"""The wizard's questions as plain numbered prompts, one line each: for input piped from a file or another
program, and for the messages of `--non-interactive` runs."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TextIO

from hermes.platforms.wizard import Cancelled, Choice


class LinePrompter:
    """The same questions, one line each: for input piped from a file or another program."""

    def __init__(self, stdin: TextIO, out: TextIO) -> None:
        self.stdin = stdin
        self.out = out

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def ok(self, text: str) -> None:
        self.say(f"  ✓ {text}")

    def fail(self, text: str, fix: str | None = None) -> None:
        self.say(f"  ✗ {text}")
        if fix:
            self.say(f"    → {fix}")

    def _line(self, prompt: str) -> str:
        self.out.write(prompt)
        self.out.flush()
        line = self.stdin.readline()
        if not line:
            raise Cancelled()
        return line.strip()

    def ask(self, question: str, *, default: str | None = None, secret: bool = False) -> str:
        shown = ""
        if default:
            shown = " [Enter keeps the current one]" if secret else f" [{default}]"
        return self._line(f"? {question}{shown} ") or (default or "")

    def _pick(self, token: str, choices: Sequence[Choice]) -> str | None:
        if token.isdigit() and 1 <= int(token) <= len(choices):
            return choices[int(token) - 1].value
        return next((c.value for c in choices if token in (c.value, c.label)), None)

    def choose(self, question: str, choices: Sequence[Choice], *, default: str | None = None) -> str:
        self.say(f"? {question}")
        for index, choice in enumerate(choices, 1):
            self.say(f"  {index}. {choice.label}" + (f" — {choice.hint}" if choice.hint else ""))
        while True:
            token = self._line(f"  number{f' [{default}]' if default else ''}: ")
            picked = self._pick(token, choices) if token else default
            if picked is not None:
                return picked
            self.fail(f"Give a number from 1 to {len(choices)}.")

    def choose_many(
        self, question: str, choices: Sequence[Choice], *, selected: Collection[str] = ()
    ) -> list[str]:
        self.say(f"? {question}")
        for index, choice in enumerate(choices, 1):
            self.say(f"  {index}. {choice.label}" + (f" — {choice.hint}" if choice.hint else ""))
        current = ",".join(str(i) for i, c in enumerate(choices, 1) if c.value in selected)
        while True:
            line = self._line(f"  numbers, comma-separated{f' [{current}]' if current else ''}: ")
            if not line:
                return [c.value for c in choices if c.value in selected]
            picked = [self._pick(token.strip(), choices) for token in line.split(",") if token.strip()]
            if all(p is not None for p in picked):
                return [c.value for c in choices if c.value in picked]
            self.fail(f"Give numbers from 1 to {len(choices)}, separated by commas.")

    def confirm(self, question: str, *, default: bool = False) -> bool:
        hint = "Y/n" if default else "y/N"
        while True:
            answer = self._line(f"? {question} ({hint}) ").lower()
            if not answer:
                return default
            if answer in ("y", "yes", "n", "no"):
                return answer.startswith("y")
            self.fail("Answer y or n.")
