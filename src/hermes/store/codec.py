"""JSON columns: compact text in the database, plain Python values in the dataclasses."""

from __future__ import annotations

import json
from typing import Any


def to_json(value: Any, what: str) -> str:
    """Encode ``value``; a value JSON cannot hold is the caller's mistake, reported before any write."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON-serialisable: {exc}") from exc


def to_json_or_none(value: Any, what: str) -> str | None:
    return None if value is None else to_json(value, what)


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)
