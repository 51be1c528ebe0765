"""Reading Discord's JSON defensively: a field that should be an object, or an empty one."""

from __future__ import annotations

from typing import Any


def obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
