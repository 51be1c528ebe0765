"""One setting named on the command line (`hermes config set/get`): by its dotted key (`matrix.homeserver`)
or by its environment name (`MATRIX_HOMESERVER`), and a value given as text, as it would be in `.env`."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from hermes.config.loader import Leaf, leaves, secret_reference_name
from hermes.config.names import closest
from hermes.config.writer import SettingValue


class SettingNameError(LookupError):
    """No setting has that name; the message suggests the closest one."""


def find_leaf(name: str) -> Leaf:
    for leaf in leaves():
        names = leaf.env or ((secret_reference_name(leaf.key),) if leaf.secret else ())
        if name == leaf.key or name in names:
            return leaf
    known = [leaf.key for leaf in leaves()] + [n for leaf in leaves() for n in leaf.env]
    suggestion = closest(name, known)
    hint = f"; did you mean {suggestion}?" if suggestion else "; `hermes config show` lists every setting"
    raise SettingNameError(f"{name} is not a setting{hint}")


def parse_value(leaf: Leaf, raw: str) -> SettingValue:
    """The value as the setting's type, read the way the loader reads `.env` (lists are comma-separated);
    `ValueError` with one line naming the key, the value and what is allowed."""
    text: Any = [item.strip() for item in raw.split(",") if item.strip()] if leaf.is_list else raw.strip()
    try:
        value: object = TypeAdapter(leaf.annotation).validate_python(text)
    except ValidationError as exc:
        error = exc.errors()[0]
        allowed = "allowed: true or false" if error["type"].startswith("bool") else error["msg"]
        shown = "(redacted)" if leaf.secret else repr(raw)
        raise ValueError(f"config error: {leaf.key} = {shown}: {allowed}") from None
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list):
        return [str(item) for item in value]
    # A type no single value on a command line spells (a mapping): written as given, checked on loading.
    return raw.strip()
