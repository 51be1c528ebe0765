"""The prompt toolkit's state machines (keys in, state out) and the line-based prompter."""

from __future__ import annotations

import io

import pytest

from hermes.cli.line_prompter import LinePrompter
from hermes.cli.terminal import LineEditor, Menu, key_names
from hermes.platforms.wizard import Cancelled, Choice

CHOICES = [Choice("a", "Alpha"), Choice("b", "Beta", "the second"), Choice("c", "Gamma")]


def test_key_names() -> None:
    assert list(key_names("\x1b[A\x1b[B\x1bOC\r \x7fx\x03\x04\x15é\x1b")) == [
        "up",
        "down",
        "right",
        "enter",
        "space",
        "backspace",
        "x",
        "ctrl-c",
        "ctrl-d",
        "ctrl-u",
        "é",
        "escape",
    ]


def test_a_menu_moves_wraps_and_chooses() -> None:
    menu = Menu(CHOICES, cursor=1)
    for key in ("down", "down", "up", "k", "j", "enter"):
        menu.press(key)
    assert menu.done and menu.answer == ["c"]


def test_a_menu_jumps_by_number_and_ignores_other_keys() -> None:
    menu = Menu(CHOICES)
    for key in ("3", "9", "x", "space", "enter"):
        menu.press(key)
    assert menu.answer == ["c"]


def test_a_multi_menu_toggles_and_keeps_the_choices_order() -> None:
    menu = Menu(CHOICES, multi=True, selected={"b"})
    for key in ("end", "space", "home", "space", "down", "space", "enter"):
        menu.press(key)
    assert menu.answer == ["a", "c"]


def test_menu_lines_fit_the_width_and_mark_the_cursor() -> None:
    menu = Menu([Choice("a", "A" * 200)], multi=True)
    [line] = menu.lines(40)
    assert "❯" in line and "◯" in line
    visible = "".join(part.split("m", 1)[-1] for part in line.split("\x1b"))
    assert len(visible) <= 40


def test_the_line_editor_edits_and_masks() -> None:
    editor = LineEditor(secret=True)
    echoes = [editor.press(key) for key in ("s", "e", "x", "backspace", "c", "space", "é", "up", "enter")]
    assert editor.value == "sec é" and editor.done
    assert echoes == ["•", "•", "•", "\b \b", "•", "•", "•", "", "\n"]


def test_the_line_editor_clears_and_cancels() -> None:
    editor = LineEditor()
    assert [editor.press(k) for k in ("a", "b", "ctrl-u")] == ["a", "b", "\b \b\b \b"]
    assert editor.value == ""
    assert editor.press("backspace") == ""
    with pytest.raises(Cancelled):
        editor.press("ctrl-d")


def prompter(text: str) -> tuple[LinePrompter, io.StringIO]:
    out = io.StringIO()
    return LinePrompter(io.StringIO(text), out), out


def test_line_prompter_answers_and_defaults() -> None:
    ui, out = prompter("typed\n\n2\n\nnope\n3\n\ny\nmaybe\nn\n")
    assert ui.ask("Name?") == "typed"
    assert ui.ask("Secret?", default="old", secret=True) == "old"
    assert "[Enter keeps the current one]" in out.getvalue() and "old" not in out.getvalue()
    assert ui.choose("Pick", CHOICES) == "b"
    assert ui.choose("Pick", CHOICES, default="c") == "c"
    assert ui.choose("Pick", CHOICES) == "c"
    assert "Give a number from 1 to 3." in out.getvalue()
    assert ui.choose_many("Several", CHOICES, selected={"b"}) == ["b"]
    assert ui.confirm("Sure?", default=False) is True
    assert ui.confirm("Sure?") is False
    assert "Answer y or n." in out.getvalue()


def test_line_prompter_multi_choice_and_end_of_input() -> None:
    ui, _ = prompter("3,1\n")
    assert ui.choose_many("Several", CHOICES) == ["a", "c"]
    with pytest.raises(Cancelled):
        ui.ask("More?")
