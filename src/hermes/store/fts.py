"""Turning whatever a user typed into a safe FTS5 query."""

from __future__ import annotations


def match_expression(text: str) -> str | None:
    """An FTS5 MATCH expression finding messages that contain every word of ``text``.

    Each whitespace-separated word becomes a quoted phrase, so FTS5 operators (AND, OR, NOT, NEAR, ``-``,
    ``^``, column filters, stray quotes) are searched for as plain text and never raise a syntax error. A
    trailing ``*`` keeps its usual meaning of a prefix search. None when there is nothing to search for.
    """
    phrases: list[str] = []
    # FTS5 reads the expression as a C string: a NUL would end it inside a quoted phrase.
    for word in text.replace("\x00", " ").split():
        prefix = word.endswith("*")
        stem = word.rstrip("*")
        if not stem:
            continue
        phrase = '"' + stem.replace('"', '""') + '"'
        phrases.append(phrase + "*" if prefix else phrase)
    return " ".join(phrases) or None
