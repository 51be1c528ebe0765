from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hermes.observability.logging import REDACTED, Redactor, setup_logging

SECRETS = {
    "api server key": "0123456789abcdef0123456789abcdef",
    "matrix access token": "syt_Ym90_QWxhZGRpbjpvcGVu_1a2b3c",
    "matrix password": "correct horse battery",
    "mattermost token": "8xk4pw7ifjdy3qmh9z1rtba6ce",
    "provider key": "sk-or-v1-deadbeefdeadbeef",
    "aws secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
    "recovery key": "EsTc 1234 5678 abcd efgh",
}


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    setup_logging(tmp_path / "logs", Redactor(SECRETS.values()), level="DEBUG")
    yield tmp_path / "logs"
    logging.getLogger().handlers.clear()


def flushed(logs: Path, name: str) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return (logs / name).read_text()


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_each_secret_kind_is_redacted_from_messages_and_arguments(logs: Path, kind: str) -> None:
    secret = SECRETS[kind]
    log = logging.getLogger("hermes.test")
    log.info("inline %s here", secret)
    log.warning(f"formatted {secret} there")
    text = flushed(logs, "gateway.log")
    assert secret not in text
    assert text.count(REDACTED) == 2
    assert secret not in flushed(logs, "errors.log")


def test_secret_inside_exception_text_and_traceback_is_redacted(logs: Path) -> None:
    secret = SECRETS["matrix access token"]
    try:
        raise RuntimeError(f"server said: bad token {secret}")
    except RuntimeError:
        logging.getLogger("hermes.test").exception("request failed")
    text = flushed(logs, "errors.log")
    assert "RuntimeError: server said: bad token " + REDACTED in text
    assert secret not in text


def test_tokens_the_settings_never_saw_are_caught_by_shape(logs: Path) -> None:
    log = logging.getLogger("hermes.test")
    log.info("GET https://hs/_matrix/media?access_token=unknownsecret123&x=1")
    log.info("headers: Authorization: Bearer zzzzzzzzzzzzzzzzzzzz")
    text = flushed(logs, "gateway.log")
    assert "unknownsecret123" not in text
    assert "zzzzzzzzzzzzzzzzzzzz" not in text
    assert "&x=1" in text


def test_secrets_added_later_are_redacted_too(tmp_path: Path) -> None:
    redactor = Redactor()
    assert redactor("key=generated-key-0001") == "key=generated-key-0001"
    redactor.add(["generated-key-0001"])
    assert redactor("key=generated-key-0001") == f"key={REDACTED}"


def test_longer_secret_containing_a_shorter_one_is_replaced_whole() -> None:
    redactor = Redactor(["abcd", "abcdefgh-long"])
    assert redactor("x abcdefgh-long y abcd") == f"x {REDACTED} y {REDACTED}"


def test_only_warnings_and_errors_reach_errors_log(logs: Path) -> None:
    log = logging.getLogger("hermes.test")
    log.info("routine")
    log.error("broken")
    errors = flushed(logs, "errors.log")
    assert "broken" in errors
    assert "routine" not in errors
    assert "routine" in flushed(logs, "gateway.log")


def test_files_rotate(tmp_path: Path) -> None:
    setup_logging(tmp_path / "logs", Redactor(), level="INFO", max_bytes=10_000, backup_count=2)
    try:
        log = logging.getLogger("hermes.test")
        for i in range(600):
            log.info("line %d %s", i, "x" * 50)
        names = sorted(p.name for p in (tmp_path / "logs").iterdir())
        assert names == ["errors.log", "gateway.log", "gateway.log.1", "gateway.log.2"]
    finally:
        logging.getLogger().handlers.clear()
