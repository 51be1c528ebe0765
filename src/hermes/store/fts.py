"""Turning whatever a user typed into a safe full-text query, for each engine."""

from __future__ import annotations


def _words(text: str) -> list[tuple[str, bool]]:
    """(word, prefix search?) for each whitespace-separated word; a trailing `*` asks for a prefix."""
    found: list[tuple[str, bool]] = []
    # Both engines read the expression as a C string: a NUL would end it inside a quoted word.
    for word in text.replace("\x00", " ").split():
        stem = word.rstrip("*")
        if stem:
            found.append((stem, word.endswith("*")))
    return found


def match_expression(text: str) -> str | None:
    """An FTS5 MATCH expression finding messages that contain every word of ``text``.

    Each whitespace-separated word becomes a quoted phrase, so FTS5 operators (AND, OR, NOT, NEAR, ``-``,
    ``^``, column filters, stray quotes) are searched for as plain text and never raise a syntax error. A
    trailing ``*`` keeps its usual meaning of a prefix search. None when there is nothing to search for.
    """
    phrases = []
    for stem, prefix in _words(text):
        phrase = '"' + stem.replace('"', '""') + '"'
        phrases.append(phrase + "*" if prefix else phrase)
    return " ".join(phrases) or None


def tsquery_expression(text: str) -> str | None:
    """The same search for PostgreSQL's `to_tsquery`: every word a quoted lexeme, all of them required.

    Quoting keeps `&`, `|`, `!`, `<->` and parentheses literal, so no input raises a syntax error.
    """
    terms = []
    for stem, prefix in _words(text):
        quoted = "'" + stem.replace("\\", "\\\\").replace("'", "''") + "'"
        terms.append(quoted + ":*" if prefix else quoted)
    return " & ".join(terms) or None
