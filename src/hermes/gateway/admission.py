"""Admission: what happens to a chat event before its session's lane. Too old, from a bot on a streak, not
allowed, an answer to a pending approval, not addressed, over the rate limit, a command: each is finished
here (skipped, refused, answered); anything else goes on to its session's lane under its session key.

The checks that need no I/O are also asked before an event is stored (`may_answer`): an event that cannot
be answered is kept without its text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from hermes.gateway.approvals import Approvals
from hermes.gateway.auth import Authorizer, DenialNotices, denial_text
from hermes.gateway.commands import Command, CommandContext, parse_command
from hermes.gateway.image_links import images_as_links
from hermes.gateway.rate_limit import RateLimiter
from hermes.platforms.base import AccessList, Inbound, Platform
from hermes.store import Inbox

log = logging.getLogger(__name__)

SLOW_DOWN = "⏳ You are sending messages faster than {limit} a minute; I am not answering the extra ones."


@dataclass(frozen=True)
class AdmissionRules:
    max_message_age: float
    allow_bots: bool
    max_bot_replies: int
    user_messages_per_minute: int = 0


# Builds a command's context from the event, its session key, the command and its arguments.
CommandContexts = Callable[[Inbound, str, Command, str], CommandContext]


class Admission:
    def __init__(
        self,
        platforms: dict[str, Platform],
        rules: AdmissionRules,
        inbox: Inbox,
        approvals: Approvals,
        gateway_access: AccessList,
        session_key_for: Callable[[Inbound], str],
        command_context: CommandContexts,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.platforms = platforms
        self.rules = rules
        self.authorizer = Authorizer(gateway_access)
        self.denials = DenialNotices()
        self.rate_limiter = RateLimiter(rules.user_messages_per_minute)
        self._inbox = inbox
        self._approvals = approvals
        self._session_key_for = session_key_for
        self._command_context = command_context
        self._clock = clock
        self._bot_streaks: dict[tuple[str, str], int] = {}

    def reconfigure(self, rules: AdmissionRules, gateway_access: AccessList) -> None:
        self.rules = rules
        self.authorizer = Authorizer(gateway_access)
        self.rate_limiter.per_minute = rules.user_messages_per_minute

    async def route(self, inbound: Inbound) -> str | None:
        """The session key when the event is for its session's lane; None when it was finished here."""
        platform = self.platforms[inbound.chat.platform]
        if self._clock() - inbound.sent_at > self.rules.max_message_age:
            await self.skip(inbound, "too old")
            return None
        if not self._bot_allowed(inbound):
            await self.skip(inbound, "from a bot")
            return None
        if not self.authorizer.allowed(platform.access, inbound.sender_id):
            await self._deny(platform, inbound)
            return None
        if self._approvals.answer(inbound):
            await self._inbox.mark_done(inbound.chat.platform, inbound.event_id, [])
            return None
        if not inbound.addressed:
            await self.skip(inbound, "not addressed")
            return None
        if not self.rate_limiter.allow(platform.name, inbound.sender_id, inbound.sent_at):
            await self._slow_down(platform, inbound)
            return None
        key = self._session_key_for(inbound)
        command = parse_command(inbound.text, bare=inbound.chat.kind != "dm" and platform.bare_commands)
        if command is not None:
            await self._run_command(platform, inbound, self._command_context(inbound, key, *command))
            return None
        return key

    def may_answer(self, inbound: Inbound) -> bool:
        """Whether handling this event (again, after a crash) may need its content: the checks of `route`
        that need no I/O."""
        platform = self.platforms.get(inbound.chat.platform)
        return (
            platform is not None
            and self._clock() - inbound.sent_at <= self.rules.max_message_age
            and (not inbound.sender_is_bot or self.rules.allow_bots)
            and self.authorizer.allowed(platform.access, inbound.sender_id)
            and (inbound.addressed or self._approvals.awaits(inbound))
        )

    def answered(self, inbound: Inbound) -> None:
        """A reply went to `inbound`: a bot's streak in its chat grows (`gateway.max_bot_replies`)."""
        if inbound.sender_is_bot:
            streak_key = (inbound.chat.platform, inbound.chat.chat_id)
            self._bot_streaks[streak_key] = self._bot_streaks.get(streak_key, 0) + 1

    async def skip(self, inbound: Inbound, reason: str) -> None:
        await self._inbox.mark_skipped(inbound.chat.platform, inbound.event_id, reason)

    def _bot_allowed(self, inbound: Inbound) -> bool:
        streak_key = (inbound.chat.platform, inbound.chat.chat_id)
        if not inbound.sender_is_bot:
            self._bot_streaks.pop(streak_key, None)
            return True
        if not self.rules.allow_bots:
            return False
        return self._bot_streaks.get(streak_key, 0) < self.rules.max_bot_replies

    async def _deny(self, platform: Platform, inbound: Inbound) -> None:
        self.denials.log_once(platform.name, inbound.sender_id, inbound.chat.chat_id)
        if inbound.chat.kind == "dm" and self.denials.should_notify(platform.name, inbound.sender_id):
            await platform.send(
                inbound.chat,
                denial_text(platform.name, inbound.sender_id),
                idempotency_key=f"{inbound.event_id}:denied",
            )
        await self.skip(inbound, "not allowed")

    async def _slow_down(self, platform: Platform, inbound: Inbound) -> None:
        log.warning("%s: %s is over the message rate limit; not answered", platform.name, inbound.sender_id)
        if self.rate_limiter.should_tell(platform.name, inbound.sender_id, inbound.sent_at):
            text = SLOW_DOWN.format(limit=self.rate_limiter.per_minute)
            await platform.send(inbound.chat, text, idempotency_key=f"{inbound.event_id}:slow")
        await self.skip(inbound, "rate limited")

    async def _run_command(self, platform: Platform, inbound: Inbound, ctx: CommandContext) -> None:
        reply = await ctx.command.handler(ctx)
        reply_ids: list[str] = []
        if reply:
            ref = await platform.send(
                inbound.chat, images_as_links(reply), idempotency_key=f"{inbound.event_id}:0"
            )
            reply_ids.append(ref.message_id)
        await self._inbox.mark_done(inbound.chat.platform, inbound.event_id, reply_ids)
