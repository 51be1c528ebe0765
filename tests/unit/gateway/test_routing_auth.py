from __future__ import annotations

import pytest

from hermes.gateway.auth import Authorizer, DenialNotices
from hermes.gateway.routing import RoutingPolicy, session_key
from hermes.platforms.base import AccessList, ChatRef

DM = ChatRef("matrix", "!dm", "dm")
DM_THREAD = ChatRef("matrix", "!dm", "dm", "$t1")
ROOM = ChatRef("matrix", "!room", "group")
ROOM_THREAD = ChatRef("matrix", "!room", "group", "$t2")
CHANNEL = ChatRef("mattermost", "chan1", "channel")


@pytest.mark.parametrize(
    ("chat", "policy", "expected"),
    [
        (DM, RoutingPolicy(), "matrix:dm:!dm"),
        (DM, RoutingPolicy(group_sessions_per_user=False), "matrix:dm:!dm"),
        (DM_THREAD, RoutingPolicy(thread_sessions_per_user=True), "matrix:dm:!dm:thread:$t1"),
        (ROOM, RoutingPolicy(), "matrix:group:!room:user:@alice:x"),
        (ROOM, RoutingPolicy(group_sessions_per_user=False), "matrix:group:!room"),
        (ROOM_THREAD, RoutingPolicy(), "matrix:group:!room:thread:$t2"),
        (
            ROOM_THREAD,
            RoutingPolicy(thread_sessions_per_user=True),
            "matrix:group:!room:thread:$t2:user:@alice:x",
        ),
        (CHANNEL, RoutingPolicy(), "mattermost:channel:chan1:user:@alice:x"),
        (CHANNEL, RoutingPolicy(group_sessions_per_user=False), "mattermost:channel:chan1"),
    ],
)
def test_session_keys(chat: ChatRef, policy: RoutingPolicy, expected: str) -> None:
    assert session_key(chat, "@alice:x", policy) == expected


def test_two_users_in_a_room_get_separate_sessions_unless_shared() -> None:
    per_user = RoutingPolicy()
    assert session_key(ROOM, "@a:x", per_user) != session_key(ROOM, "@b:x", per_user)
    shared = RoutingPolicy(group_sessions_per_user=False)
    assert session_key(ROOM, "@a:x", shared) == session_key(ROOM, "@b:x", shared)


def test_keys_are_stable_strings() -> None:
    assert session_key(ROOM_THREAD, "@a:x", RoutingPolicy()) == session_key(
        ChatRef("matrix", "!room", "group", "$t2"), "@a:x", RoutingPolicy()
    )


NOBODY = AccessList()


@pytest.mark.parametrize(
    ("platform", "gateway", "user", "allowed"),
    [
        (NOBODY, NOBODY, "@a:x", False),
        (AccessList(frozenset({"@a:x"})), NOBODY, "@a:x", True),
        (AccessList(frozenset({"@a:x"})), NOBODY, "@b:x", False),
        (NOBODY, AccessList(frozenset({"@b:x"})), "@b:x", True),
        (AccessList(frozenset({"@a:x"})), AccessList(frozenset({"@b:x"})), "@b:x", True),
        (AccessList(frozenset({"@a:x"})), AccessList(frozenset({"@b:x"})), "@c:x", False),
        (AccessList(frozenset({"*"})), NOBODY, "@anyone:y", True),
        (NOBODY, AccessList(frozenset({"*"})), "@anyone:y", True),
        (AccessList(allow_all=True), NOBODY, "@anyone:y", True),
        (NOBODY, AccessList(allow_all=True), "@anyone:y", True),
        (AccessList(frozenset({""})), NOBODY, "@a:x", False),
    ],
)
def test_authorization(platform: AccessList, gateway: AccessList, user: str, allowed: bool) -> None:
    assert Authorizer(gateway).allowed(platform, user) is allowed


def test_denial_notice_at_most_once_per_hour_per_user() -> None:
    notices = DenialNotices()
    assert notices.should_notify("matrix", "@a:x", now=0.0)
    assert not notices.should_notify("matrix", "@a:x", now=3599.0)
    assert notices.should_notify("matrix", "@b:x", now=10.0)
    assert notices.should_notify("matrix", "@a:x", now=3600.0)


def test_denial_logged_once_per_user(caplog: pytest.LogCaptureFixture) -> None:
    notices = DenialNotices()
    with caplog.at_level("WARNING"):
        notices.log_once("matrix", "@a:x", "!r")
        notices.log_once("matrix", "@a:x", "!r")
        notices.log_once("matrix", "@b:x", "!r")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "@a:x" in lines[0] and "@b:x" in lines[1]
