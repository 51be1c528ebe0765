"""Questions asked of a person or answered by flags, and the fix-one-answer loop after a failed check."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import pytest

from hermes.cli.setup_form import Fix, Form, Question, SetupStopped
from hermes.platforms.base import Check
from hermes.platforms.wizard import Choice


@dataclass
class ScriptedPrompter:
    """Answers from a list, in order; records what was asked and said."""

    answers: list[str]
    asked: list[tuple[str, str | None]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        self.said.append(text)

    def ok(self, text: str) -> None:
        self.said.append(f"ok: {text}")

    def fail(self, text: str, fix: str | None = None) -> None:
        self.said.append(f"fail: {text}" + (f" / {fix}" if fix else ""))

    def ask(self, question: str, *, default: str | None = None, secret: bool = False) -> str:
        self.asked.append((question, default))
        return self.answers.pop(0) or (default or "")

    def choose(self, question: str, choices: Sequence[Choice], *, default: str | None = None) -> str:
        self.asked.append((question, default))
        answer = self.answers.pop(0)
        return answer or default or choices[0].value

    def choose_many(
        self, question: str, choices: Sequence[Choice], *, selected: Collection[str] = ()
    ) -> list[str]:
        self.asked.append((question, ",".join(selected)))
        return [a for a in self.answers.pop(0).split(",") if a]

    def confirm(self, question: str, *, default: bool = False) -> bool:
        self.asked.append((question, str(default)))
        return self.answers.pop(0) == "y"


def number(raw: str) -> int:
    if not raw.isdigit():
        raise ValueError(f"{raw!r} is not a number")
    return int(raw)


PORT = Question("api_server.port", "Port", "--port", parse=number)
HOST = Question("api_server.host", "Host", "--host", explain="Where to listen.")


def test_a_flag_answers_a_question_without_a_person() -> None:
    ui = ScriptedPrompter([])
    form = Form(ui, interactive=False, given={"api_server.port": "9000"})
    assert form.ask(PORT, "8642") == 9000
    assert form.ask(HOST, "127.0.0.1") == "127.0.0.1"
    assert ui.asked == [] and form.answers == {"api_server.port": 9000, "api_server.host": "127.0.0.1"}


def test_without_a_person_a_missing_or_bad_answer_names_the_flag() -> None:
    form = Form(ScriptedPrompter([]), interactive=False)
    with pytest.raises(SetupStopped, match="--port is needed") as missing:
        form.ask(PORT)
    assert missing.value.code == 2
    form = Form(ScriptedPrompter([]), interactive=False, given={"api_server.port": "lots"})
    with pytest.raises(SetupStopped, match="--port: 'lots' is not a number"):
        form.ask(PORT)


def test_a_person_sees_the_flag_as_the_suggestion_and_gets_asked_again_on_a_bad_answer() -> None:
    ui = ScriptedPrompter(["", "many", "9001"])
    form = Form(ui, interactive=True, given={"api_server.port": None})
    assert form.ask(PORT) == 9001
    assert ui.said == ["fail: This one needs an answer.", "fail: 'many' is not a number"]
    ui = ScriptedPrompter([""])
    assert Form(ui, interactive=True, given={"api_server.port": 7000}).ask(PORT, "8642") == 7000
    assert ui.asked == [("Port", "7000")]


def test_an_explanation_is_shown_once() -> None:
    ui = ScriptedPrompter(["a", "b"])
    form = Form(ui, interactive=True)
    form.ask(HOST)
    form.ask(HOST)
    assert ui.said.count("Where to listen.") == 1


def test_choices_from_flags_are_checked() -> None:
    choices = [Choice("token", "Token"), Choice("password", "Password")]
    form = Form(ScriptedPrompter([]), interactive=False, given={"login": "cookie"})
    with pytest.raises(SetupStopped, match="--login: 'cookie' is not one of token, password"):
        form.choose("login", "How?", "--login", choices)
    form = Form(ScriptedPrompter([]), interactive=False, given={"p": ["matrix", "irc"]})
    with pytest.raises(SetupStopped, match="--platform: irc not one of matrix"):
        form.choose_many("p", "Where?", "--platform", [Choice("matrix", "Matrix")], [])


def test_a_failed_check_offers_the_suspect_answer_and_asks_only_that_one_again() -> None:
    ui = ScriptedPrompter(["h.example", "8000", "", "8001"])
    form = Form(ui, interactive=True)
    form.ask(HOST)
    form.ask(PORT)
    results = iter(
        [
            Check(False, "port 8000 is taken", "pick another", suspect="api_server.port"),
            Check(True, "listening works"),
        ]
    )
    outcome = form.verify("the port", lambda: next(results), [Fix("The host", HOST), Fix("The port", PORT)])
    assert outcome is not None and outcome.ok
    assert form.answers == {"api_server.host": "h.example", "api_server.port": 8001}
    assert ui.asked[2] == ("What do you want to change?", "api_server.port")
    assert ui.asked[3] == ("Port", "8000")
    assert "fail: port 8000 is taken / pick another" in ui.said and "ok: listening works" in ui.said


def test_a_person_may_go_on_without_a_passing_check() -> None:
    ui = ScriptedPrompter(["again", "accept"])
    form = Form(ui, interactive=True)
    calls = []

    def check() -> Check:
        calls.append(1)
        return Check(False, "unreachable")

    assert form.verify("the server", check, []) is None
    assert len(calls) == 2
    assert "  Going on without a working check of the server." in ui.said


def test_without_a_person_a_failed_check_stops_the_setup() -> None:
    form = Form(ScriptedPrompter([]), interactive=False)
    with pytest.raises(SetupStopped, match="the server: refused — get a new token") as stopped:
        form.verify("the server", lambda: Check(False, "refused", "get a new token"), [])
    assert stopped.value.code == 1


def test_checks_can_be_skipped() -> None:
    ui = ScriptedPrompter([])
    form = Form(ui, interactive=False, checks=False)
    assert form.verify("the server", lambda: pytest.fail("checked"), []) is None
    assert ui.said == ["  (not checking the server: --no-check)"]
