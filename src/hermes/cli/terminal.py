"""Questions in the terminal: arrow-key menus, masked secret input, yes/no — and the same questions as plain
numbered prompts when stdin is not a terminal.

On a terminal the input is read key by key (cbreak mode: no echo, no line buffering, Ctrl-C still
interrupts), so `Menu` and `LineEditor` are small state machines fed with key names; they hold no I/O and
are tested alone. `TtyPrompter` draws them; `line_prompter.LinePrompter` reads whole lines instead, and
`prompter.prompter_for_stdio` picks one of the two.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import termios
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from hermes.platforms.wizard import Cancelled, Choice

BOLD, DIM, CYAN, GREEN, RED, YELLOW, RESET = (
    "\x1b[1m",
    "\x1b[2m",
    "\x1b[36m",
    "\x1b[32m",
    "\x1b[31m",
    "\x1b[33m",
    "\x1b[0m",
)
_ESCAPES = {
    "[A": "up",
    "[B": "down",
    "[C": "right",
    "[D": "left",
    "OA": "up",
    "OB": "down",
    "OC": "right",
    "OD": "left",
    "[H": "home",
    "[F": "end",
    "[3~": "delete",
}
_CONTROL = {
    "\r": "enter",
    "\n": "enter",
    "\x7f": "backspace",
    "\x08": "backspace",
    "\x03": "ctrl-c",
    "\x04": "ctrl-d",
    "\x15": "ctrl-u",
    "\t": "tab",
    " ": "space",
}


# -- pure state machines -------------------------------------------------------------------------------


def key_names(text: str) -> Iterator[str]:
    """Key names for decoded terminal input: "up", "enter", "space", ..., or the character itself."""
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\x1b":
            rest = text[index + 1 :]
            for sequence, name in _ESCAPES.items():
                if rest.startswith(sequence):
                    yield name
                    index += 1 + len(sequence)
                    break
            else:
                yield "escape"
                index += 1
            continue
        yield _CONTROL.get(char, char)
        index += 1


@dataclass
class Menu:
    choices: Sequence[Choice]
    multi: bool = False
    cursor: int = 0
    selected: set[str] = field(default_factory=set)
    done: bool = False

    def press(self, key: str) -> None:
        count = len(self.choices)
        if key in ("up", "k"):
            self.cursor = (self.cursor - 1) % count
        elif key in ("down", "j", "tab"):
            self.cursor = (self.cursor + 1) % count
        elif key == "home":
            self.cursor = 0
        elif key == "end":
            self.cursor = count - 1
        elif key.isdigit() and 1 <= int(key) <= count:
            self.cursor = int(key) - 1
            if self.multi:
                self._toggle()
        elif key == "space" and self.multi:
            self._toggle()
        elif key == "enter":
            self.done = True

    def _toggle(self) -> None:
        value = self.choices[self.cursor].value
        self.selected ^= {value}

    @property
    def answer(self) -> list[str]:
        if self.multi:
            return [c.value for c in self.choices if c.value in self.selected]
        return [self.choices[self.cursor].value]

    def lines(self, width: int) -> list[str]:
        out = []
        for index, choice in enumerate(self.choices):
            here = index == self.cursor
            pointer = f"{CYAN}❯{RESET}" if here else " "
            box = ""
            if self.multi:
                box = f"{GREEN}◉{RESET} " if choice.value in self.selected else "◯ "
            label = f"{BOLD}{choice.label}{RESET}" if here else choice.label
            hint = f"  {DIM}{choice.hint}{RESET}" if choice.hint else ""
            out.append(_fit(f"  {pointer} {box}{label}{hint}", width))
        return out


@dataclass
class LineEditor:
    """One line of input; `press` returns what to echo."""

    secret: bool = False
    value: str = ""
    done: bool = False

    def press(self, key: str) -> str:
        if key == "enter":
            self.done = True
            return "\n"
        if key == "backspace":
            if not self.value:
                return ""
            self.value = self.value[:-1]
            return "\b \b"
        if key == "ctrl-u":
            erased = len(self.value)
            self.value = ""
            return "\b \b" * erased
        if key == "ctrl-d":
            if not self.value:
                raise Cancelled()
            return ""
        if key == "space":
            key = " "
        if len(key) != 1 or not key.isprintable():
            return ""
        self.value += key
        return "•" if self.secret else key


def _incomplete_escape(data: bytes) -> bool:
    start = data.rfind(b"\x1b")
    return start >= 0 and data[start + 1 :] in (b"", b"[", b"O", b"[3")


def _visible_length(text: str) -> int:
    length, escape = 0, False
    for char in text:
        if char == "\x1b":
            escape = True
        elif escape:
            escape = char != "m"
        else:
            length += 1
    return length


def _fit(text: str, width: int) -> str:
    """Cut a line to the terminal's width, so that a redraw can count lines."""
    if _visible_length(text) < width:
        return text
    out, length, escape = [], 0, False
    for char in text:
        if char == "\x1b":
            escape = True
        if escape:
            out.append(char)
            escape = char != "m"
            continue
        if length >= width - 2:
            break
        out.append(char)
        length += 1
    return "".join(out) + f"…{RESET}"


# -- terminal I/O -----------------------------------------------------------------------------------------


class TtyPrompter:
    def __init__(self, fd: int, out: TextIO) -> None:
        self.fd = fd
        self.out = out
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def say(self, text: str = "") -> None:
        self._write(text + "\n")

    def ok(self, text: str) -> None:
        self.say(f"  {GREEN}✓{RESET} {text}")

    def fail(self, text: str, fix: str | None = None) -> None:
        self.say(f"  {RED}✗{RESET} {text}")
        if fix:
            self.say(f"    {YELLOW}→{RESET} {fix}")

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.out.fileno()).columns
        except (OSError, ValueError):
            return 80

    @contextlib.contextmanager
    def _keys(self) -> Iterator[Iterator[str]]:
        saved = termios.tcgetattr(self.fd)
        mode = termios.tcgetattr(self.fd)
        # No ISIG: Ctrl-C arrives as a key and ends the wizard the same way with or without a
        # controlling terminal.
        mode[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG)
        mode[6][termios.VMIN] = 1
        mode[6][termios.VTIME] = 0
        # TCSADRAIN, not TCSAFLUSH: keys typed ahead are answers too.
        termios.tcsetattr(self.fd, termios.TCSADRAIN, mode)
        try:
            yield self._read_keys()
        finally:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def _read_keys(self) -> Iterator[str]:
        while True:
            # Keys read but not used by the last question (typed ahead, pasted) belong to the next one.
            while self._pending:
                key = self._pending.pop(0)
                if key == "ctrl-c":
                    raise KeyboardInterrupt
                yield key
            data = os.read(self.fd, 1024)
            # An arrow key's escape sequence can arrive split across reads: wait a moment for the rest.
            while _incomplete_escape(data) and select.select([self.fd], [], [], 0.05)[0]:
                more = os.read(self.fd, 1024)
                if not more:
                    break
                data += more
            if not data:
                raise Cancelled()
            self._pending.extend(key_names(self._decoder.decode(data)))

    def ask(self, question: str, *, default: str | None = None, secret: bool = False) -> str:
        shown = ""
        if default:
            shown = " [Enter keeps the current one]" if secret else f" [{default}]"
        editor = LineEditor(secret=secret)
        with self._keys() as keys:
            self._write(f"{CYAN}?{RESET} {BOLD}{question}{RESET}{DIM}{shown}{RESET} ")
            for key in keys:
                self._write(editor.press(key))
                if editor.done:
                    break
        return editor.value.strip() or (default or "")

    def _menu(self, question: str, menu: Menu, help_text: str) -> list[str]:
        drawn = 0
        try:
            with self._keys() as keys:
                self._write(f"{CYAN}?{RESET} {BOLD}{question}{RESET} {DIM}({help_text}){RESET}\n\x1b[?25l")
                while True:
                    lines = menu.lines(self._width())
                    self._write((f"\x1b[{drawn}F" if drawn else "") + "\x1b[J" + "\n".join(lines) + "\n")
                    drawn = len(lines)
                    if menu.done:
                        break
                    menu.press(next(keys))
        finally:
            self._write("\x1b[?25h")
        answer = menu.answer
        labels = [c.label for c in menu.choices if c.value in answer]
        self._write(f"\x1b[{drawn + 1}F\x1b[J")
        self.say(f"{CYAN}?{RESET} {BOLD}{question}{RESET} {CYAN}{', '.join(labels) or 'none'}{RESET}")
        return answer

    def choose(self, question: str, choices: Sequence[Choice], *, default: str | None = None) -> str:
        cursor = next((i for i, c in enumerate(choices) if c.value == default), 0)
        return self._menu(question, Menu(choices, cursor=cursor), "↑/↓ to move, Enter to choose")[0]

    def choose_many(
        self, question: str, choices: Sequence[Choice], *, selected: Collection[str] = ()
    ) -> list[str]:
        menu = Menu(choices, multi=True, selected=set(selected))
        return self._menu(question, menu, "↑/↓ to move, Space to select, Enter to confirm")

    def confirm(self, question: str, *, default: bool = False) -> bool:
        hint = "Y/n" if default else "y/N"
        while True:
            answer = self.ask(f"{question} ({hint})").lower()
            if not answer:
                return default
            if answer in ("y", "yes", "n", "no"):
                return answer.startswith("y")
            self.fail("Answer y or n.")
