"""`Authorization: Bearer <key>`, compared in constant time."""

from __future__ import annotations

import hmac

from hermes.platforms.api_server.errors import unauthorized


class BearerAuth:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def check(self, header: str | None) -> None:
        """Raises the 401 envelope unless `header` carries the key."""
        if not header:
            raise unauthorized(
                "You didn't provide an API key. Send it as `Authorization: Bearer <API_SERVER_KEY>`."
            )
        scheme, _, token = header.strip().partition(" ")
        sent = token.strip().encode("utf-8", "replace")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent, self._key):
            raise unauthorized("Incorrect API key provided.")
