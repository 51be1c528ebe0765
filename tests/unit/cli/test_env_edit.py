"""Editing .env in place: the entries asked for change, every other line kept; values read back the same."""

from __future__ import annotations

from io import StringIO

import pytest
from dotenv import dotenv_values
from hypothesis import given, settings
from hypothesis import strategies as st

from hermes.config.env_edit import EnvFile, quote_value

ENV = """\
# secrets for the bot
export MATRIX_HOMESERVER=https://old.example.org
MATRIX_ACCESS_TOKEN='syt_old'   # rotated monthly

OPENROUTER_API_KEY=sk-or-1
MULTI="line one
line two"
UNRELATED=keep me
"""


def parsed(text: str) -> dict[str, str | None]:
    return dict(dotenv_values(stream=StringIO(text), interpolate=False))


def test_set_replaces_the_entry_and_keeps_export_and_every_other_line() -> None:
    env = EnvFile(ENV)
    env.set("MATRIX_HOMESERVER", "https://new.example.org")
    text = env.text()
    assert "export MATRIX_HOMESERVER=https://new.example.org\n" in text
    assert text.replace("https://new.example.org", "https://old.example.org") == ENV


def test_a_new_name_goes_next_to_its_relatives() -> None:
    env = EnvFile(ENV)
    env.set("MATRIX_ALLOWED_USERS", "@a:x.org,@b:x.org")
    env.set("MATTERMOST_URL", "https://mm.example.com")
    lines = env.text().splitlines()
    assert lines[3] == "MATRIX_ALLOWED_USERS=@a:x.org,@b:x.org"
    assert lines[-1] == "MATTERMOST_URL=https://mm.example.com"
    assert parsed(env.text())["MULTI"] == "line one\nline two"


def test_setting_the_same_value_changes_nothing_even_if_quoted_differently() -> None:
    env = EnvFile(ENV)
    env.set("MATRIX_ACCESS_TOKEN", "syt_old")
    assert env.text() == ENV


def test_unset_removes_every_assignment_including_a_multi_line_one() -> None:
    env = EnvFile(ENV + "OPENROUTER_API_KEY=sk-or-2\n")
    env.unset("OPENROUTER_API_KEY")
    env.unset("MULTI")
    env.unset("NOT_THERE")
    assert parsed(env.text()) == {
        "MATRIX_HOMESERVER": "https://old.example.org",
        "MATRIX_ACCESS_TOKEN": "syt_old",
        "UNRELATED": "keep me",
    }
    assert "# secrets for the bot" in env.text()


def test_the_last_of_duplicate_assignments_is_the_one_changed() -> None:
    env = EnvFile("A=1\nA=2\n")
    assert env.get("A") == "2"
    env.set("A", "3")
    assert env.text() == "A=1\nA=3\n"


def test_an_empty_file() -> None:
    env = EnvFile("")
    assert env.text() == ""
    env.set("API_SERVER_KEY", "k" * 20)
    assert env.text() == f"API_SERVER_KEY={'k' * 20}\n"


def test_a_bad_name_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid environment variable name"):
        EnvFile("").set("BAD NAME", "x")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain-value_1.2:3@x,y", "plain-value_1.2:3@x,y"),
        ("has space", '"has space"'),
        ('quote"and\\back', '"quote\\"and\\\\back"'),
        ("a #not a comment", '"a #not a comment"'),
        ("", '""'),
    ],
)
def test_quoting(value: str, written: str) -> None:
    assert quote_value(value) == written


@settings(max_examples=300, deadline=None)
@given(value=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")))
def test_any_value_reads_back_as_written(value: str) -> None:
    env = EnvFile(ENV)
    env.set("NEW_VALUE", value)
    env.set("MATRIX_PASSWORD", value)
    values = parsed(env.text())
    assert values["NEW_VALUE"] == value
    assert values["MATRIX_PASSWORD"] == value
    assert values["UNRELATED"] == "keep me" and values["MULTI"] == "line one\nline two"
    assert EnvFile(env.text()).get("NEW_VALUE") == value
