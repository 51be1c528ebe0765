"""Who may talk to the bot. Deny by default: with nothing configured, nobody."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from hermes.platforms.base import AccessList

log = logging.getLogger(__name__)

WILDCARD = "*"


@dataclass(frozen=True)
class Authorizer:
    """A platform's own allowlist united with the gateway-wide one; `*` or an allow-all flag opens it."""

    gateway: AccessList

    def allowed(self, platform: AccessList, user_id: str) -> bool:
        if platform.allow_all or self.gateway.allow_all:
            return True
        users = platform.users | self.gateway.users
        return WILDCARD in users or user_id in users

    def only_user(self, platform: AccessList) -> str | None:
        """The one user admitted on a platform, when exactly one is (no wildcard, no allow-all)."""
        if platform.allow_all or self.gateway.allow_all:
            return None
        users = platform.users | self.gateway.users
        return next(iter(users)) if len(users) == 1 and WILDCARD not in users else None


@dataclass
class DenialNotices:
    """Rate limits what denied people see and what the log says about them.

    A denied person in a DM hears once an hour what their id is, so they can ask the operator; the log
    names each denied id once, so the operator can copy it into the allowlist.
    """

    notice_interval: float = 3600.0
    _last_notice: dict[tuple[str, str], float] = field(default_factory=dict)
    _logged: set[tuple[str, str]] = field(default_factory=set)

    def log_once(self, platform: str, user_id: str, chat_id: str) -> None:
        if (platform, user_id) not in self._logged:
            self._logged.add((platform, user_id))
            log.warning(
                "%s: ignoring %s in %s: not allowed (add it to the platform's allowlist to let it in)",
                platform,
                user_id,
                chat_id,
            )

    def should_notify(self, platform: str, user_id: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        last = self._last_notice.get((platform, user_id))
        if last is not None and now - last < self.notice_interval:
            return False
        self._last_notice[(platform, user_id)] = now
        return True


def denial_text(platform: str, user_id: str) -> str:
    return (
        f"Sorry, I can't talk with you yet. Your {platform} id is {user_id} — "
        "ask the operator of this bot to add it to the allowlist."
    )
