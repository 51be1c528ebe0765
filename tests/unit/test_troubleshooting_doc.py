"""docs/troubleshooting.md quotes what the program prints: every bold code span in it is a message, and each
of its literal pieces (between placeholders like `<path>`, `N`, `...`) is in the source, so rewording a
message without the doc (or quoting a message the program does not print) fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUOTE = re.compile(r"\*\*``(.+?)``\*\*|\*\*`([^`]+)`\*\*", re.S)
PLACEHOLDER = re.compile(r"<[^>]+>|\.\.\.|\bN\b|\bM\b|[:;()]")
# Too short to say anything on their own.
MIN_PIECE = 8


def source_text() -> str:
    text = "\n".join(path.read_text() for path in (ROOT / "src" / "hermes").rglob("*.py"))
    text = re.sub(r'"\s*\n\s*[rbf]*"', "", text)  # implicit concatenation of string literals
    text = re.sub(r"\{[^{}\n]*\}", "\0", text)  # f-string fields
    return re.sub(r"%[-.0-9]*[sdfr]", "\0", text)  # logging arguments


def quotes() -> list[str]:
    doc = (ROOT / "docs" / "troubleshooting.md").read_text()
    return [" ".join((match.group(1) or match.group(2)).split()) for match in QUOTE.finditer(doc)]


def test_every_quoted_message_is_one_the_program_prints() -> None:
    source = source_text()
    found = quotes()
    assert len(found) > 20
    missing = [
        (piece, quote)
        for quote in found
        for piece in (p.strip() for p in PLACEHOLDER.split(quote))
        if len(piece) >= MIN_PIECE and piece not in source
    ]
    assert missing == []


def test_a_reworded_message_would_be_caught() -> None:
    source = source_text()
    assert "no platform is enabled, so there is nothing to serve" in source
    assert "no platform is enabled; the gateway stops" not in source
