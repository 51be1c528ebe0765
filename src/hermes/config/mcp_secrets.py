"""The secrets inside `mcp_servers`: every value of a server's `env` and `headers`, and a password in its
`url`. The settings model keeps `mcp_servers` free-form (the MCP tool module validates it), so these are
found here by shape rather than marked `Secret` field by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

_SECRET_MAPS = ("env", "headers")


def mcp_secret_values(servers: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for server in servers.values():
        if not isinstance(server, Mapping):
            continue
        for name in _SECRET_MAPS:
            values = server.get(name)
            if isinstance(values, Mapping):
                for value in values.values():
                    if isinstance(value, str) and value:
                        found.append(value)
                        # "Bearer <token>": the token alone may show up in a log line too.
                        scheme, _, token = value.partition(" ")
                        if token.strip() and scheme.isalpha():
                            found.append(token.strip())
        password = _url_password(server.get("url"))
        if password:
            found.append(password)
    return found


def mcp_redacted(servers: Mapping[str, Any], mask: str) -> dict[str, Any]:
    """`servers` with every secret value replaced by `mask`, for display."""
    shown: dict[str, Any] = {}
    for name, server in servers.items():
        if not isinstance(server, Mapping):
            shown[name] = server
            continue
        copy = dict(server)
        for key in _SECRET_MAPS:
            if isinstance(copy.get(key), Mapping):
                copy[key] = {k: mask for k in copy[key]}
        password = _url_password(copy.get("url"))
        if password:
            copy["url"] = str(copy["url"]).replace(password, mask)
        shown[name] = copy
    return shown


def _url_password(url: object) -> str | None:
    if not isinstance(url, str):
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None
