"""`MatrixHTTP._send` overrides mautrix's private `HTTPAPI._send` (to keep `retry_after_ms`, which
mautrix's errors drop). pyproject.toml pins mautrix to the 0.21 series; these tests fail when mautrix
changes what the override replaces, so that a bump is a deliberate re-read, not a silent breakage."""

from __future__ import annotations

import hashlib
import inspect

from mautrix.api import HTTPAPI

from hermes.platforms.matrix.http import MatrixHTTP

# sha256 of `inspect.getsource(HTTPAPI._send)` in mautrix 0.21.1. When this fails: read mautrix's new
# `_send`, carry any change into `MatrixHTTP._send`, then record the new digest here.
REPLACED_SOURCE_SHA256 = "2e864af7bd8cb4479dc4aee239fe05b386dbbe35ada0902169f10f95f7de6cfd"


def test_mautrix_send_is_the_one_the_override_was_written_against() -> None:
    digest = hashlib.sha256(inspect.getsource(HTTPAPI._send).encode()).hexdigest()
    assert digest == REPLACED_SOURCE_SHA256, "mautrix changed HTTPAPI._send: review MatrixHTTP._send"


def test_the_override_keeps_the_signature_and_is_still_called_by_request() -> None:
    ours = inspect.signature(MatrixHTTP._send)
    theirs = inspect.signature(HTTPAPI._send)
    assert list(ours.parameters) == list(theirs.parameters)
    assert "await self._send(" in inspect.getsource(HTTPAPI.request)
