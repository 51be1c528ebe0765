"""The hub: every chat event passes through here on its way to the agent, and every reply on its way out.

receive: inbox (durable, deduplicated, with the platform cursor in the same transaction) -> handle:
too old? bot loop? allowed? addressed? pending approval? command? -> the session's lane -> agent run ->
delivery -> inbox done. Anything accepted but not done is handled again on start, so each event is
answered exactly once across crashes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from hermes.agent.contract import AgentEvent, AgentPort, Failed, Final, RunRequest
from hermes.config.settings import Settings
from hermes.gateway.admission import Admission, AdmissionRules
from hermes.gateway.approvals import Approvals
from hermes.gateway.chat_request import chat_request
from hermes.gateway.codec import from_payload, to_payload
from hermes.gateway.commands import Command, CommandContext, command_menu, parse_command
from hermes.gateway.delivery import EditThrottle, ReplyStream, typing_shown
from hermes.gateway.homes import home_chat
from hermes.gateway.lanes import Lane
from hermes.gateway.leases import HeldLease
from hermes.gateway.proxy import ProxyAgent
from hermes.gateway.requests import RequestRuns
from hermes.gateway.routing import RoutingPolicy, session_key
from hermes.platforms.base import AccessList, ChatRef, FenceLost, Inbound, Platform
from hermes.store import LeaseLostError, Store

log = logging.getLogger(__name__)

INTERRUPT_ACK = "⏹ Interrupted — taking your new message into account."


@dataclass(frozen=True)
class HubOptions:
    max_message_age: float
    allow_bots: bool
    max_bot_replies: int
    busy_mode: str
    tool_progress: bool
    routing: RoutingPolicy
    default_model: str = ""
    min_edit_interval: float = 1.0
    max_edits: int = 100
    owners: frozenset[str] = frozenset()
    user_messages_per_minute: int = 0

    def admission_rules(self) -> AdmissionRules:
        return AdmissionRules(
            self.max_message_age, self.allow_bots, self.max_bot_replies, self.user_messages_per_minute
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> HubOptions:
        return cls(
            max_message_age=settings.gateway.max_message_age_seconds,
            allow_bots=settings.gateway.allow_bots,
            max_bot_replies=settings.gateway.max_bot_replies,
            busy_mode=settings.display.busy_input_mode,
            tool_progress=settings.display.tool_progress == "brief",
            routing=RoutingPolicy(settings.group_sessions_per_user, settings.thread_sessions_per_user),
            default_model=settings.model.default,
            owners=frozenset(settings.gateway.owners),
            user_messages_per_minute=settings.gateway.user_messages_per_minute,
        )


class Hub:
    def __init__(
        self,
        store: Store,
        agent: AgentPort,
        platforms: Mapping[str, Platform],
        options: HubOptions,
        gateway_access: AccessList,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.agent = agent
        self.platforms = dict(platforms)
        self.options = options
        self.approvals = Approvals(self)
        self.clock = clock
        self.started_at = clock()
        self.admission = Admission(
            self.platforms,
            options.admission_rules(),
            store.inbox,
            self.approvals,
            gateway_access,
            self.session_key_for,
            self._command_context,
            clock=clock,
        )
        self._lanes: dict[str, Lane] = {}
        self._tasks: set[asyncio.Task[object]] = set()
        self.requests = RequestRuns(agent)
        # Events handled again after a restart: only these can have reply chunks sent already.
        self._resumed: set[tuple[str, str]] = set()
        # Events being handled now: a restart's resume and a platform's replay may offer the same one.
        self._handling: set[tuple[str, str]] = set()
        # Per platform inside a catch-up: the events it delivered, handed on together when it ends.
        self._held: dict[str, list[Inbound]] = {}
        self._processing = True

    def reconfigure(self, options: HubOptions, gateway_access: AccessList) -> None:
        """New settings from a reload, for the events handled from now on."""
        self.options = options
        self.admission.reconfigure(options.admission_rules(), gateway_access)

    # -- what platforms call (HubPort) --------------------------------------------------------------

    async def receive(self, inbound: Inbound, *, cursor: str | None = None) -> bool:
        payload = to_payload(inbound, content=self.admission.may_answer(inbound))
        accepted = await self.store.inbox.accept(
            inbound.chat.platform, inbound.event_id, payload, cursor=cursor
        )
        if accepted and self._processing:
            held = self._held.get(inbound.chat.platform)
            if held is not None:
                held.append(inbound)
            else:
                self._spawn(self._handle(inbound))
        return accepted

    @contextlib.asynccontextmanager
    async def catch_up(self, platform: str) -> AsyncIterator[None]:
        if platform in self._held:
            yield
            return
        held = self._held[platform] = []
        try:
            yield
        finally:
            del self._held[platform]
            if held and self._processing:
                self._spawn(self._handle_backlog(held))

    async def save_cursor(self, platform: str, cursor: str) -> None:
        await self.store.inbox.save_cursor(platform, cursor)

    async def load_cursor(self, platform: str) -> str | None:
        return await self.store.cursors.get(platform)

    async def home_chat(self, platform: str) -> ChatRef | None:
        adapter = self.platforms.get(platform)
        return None if adapter is None else await home_chat(self.store.homes, adapter)

    def has_owner(self, platform: str) -> bool:
        """Whether anyone is the owner on `platform` (see `is_owner`)."""
        if self.options.owners:
            return True
        adapter = self.platforms.get(platform)
        return (
            self.admission.authorizer.only_user(adapter.access if adapter is not None else AccessList())
            is not None
        )

    def is_owner(self, platform: str, user_id: str) -> bool:
        """The owner: named in `gateway.owners`, or else the one person a platform's allowlists admit."""
        if self.options.owners:
            return user_id in self.options.owners or f"{platform}:{user_id}" in self.options.owners
        adapter = self.platforms.get(platform)
        access = adapter.access if adapter is not None else AccessList()
        return self.admission.authorizer.only_user(access) == user_id

    def is_allowed(self, platform: str, user_id: str) -> bool:
        adapter = self.platforms.get(platform)
        access = adapter.access if adapter is not None else AccessList()
        return self.admission.authorizer.allowed(access, user_id)

    def is_command(self, text: str, *, bare: bool = False) -> bool:
        return parse_command(text, bare=bare) is not None

    def command_menu(self) -> list[tuple[str, str]]:
        return command_menu()

    async def run_request(
        self, request: RunRequest, cancel: asyncio.Event
    ) -> AsyncGenerator[AgentEvent, None]:
        """One agent run for a request-driven platform (the API server), streamed to the caller."""
        platform = self.platforms[request.platform]
        if not request.platform_hint:
            request = dataclasses.replace(request, platform_hint=platform.prompt_hint)
        async for event in self.requests.run(request, cancel, self.approvals.services_for(platform)):
            yield event

    # -- lifecycle ---------------------------------------------------------------------------------

    async def resume_pending(self, platform: str) -> int:
        """Handle what was accepted before a crash or a stop but never answered, once `platform` is up."""
        events = await self.store.inbox.pending(platform)
        for event in events:
            self._resumed.add((event.platform, event.event_id))
        if events:
            log.info("resuming %d unanswered event(s)", len(events))
            self._spawn(self._handle_backlog([from_payload(event.payload) for event in events]))
        return len(events)

    async def drain(self, grace: float) -> None:
        """Stop starting new work; let runs finish within `grace`, then cancel what is left. Cancelled
        events stay pending in the inbox and are answered after the next start."""
        self._processing = False
        self.requests.refuse_new()
        await asyncio.gather(self._drain_chat_runs(grace), self.requests.finish(grace))

    async def _drain_chat_runs(self, grace: float) -> None:
        if not self._tasks:
            return
        _, still_running = await asyncio.wait(set(self._tasks), timeout=grace)
        if still_running:
            log.warning(
                "shutdown: %d run(s) did not finish in %.0f s; they resume on next start",
                len(still_running),
                grace,
            )
            for task in still_running:
                task.cancel()
            await asyncio.gather(*still_running, return_exceptions=True)

    @property
    def runs_in_flight(self) -> int:
        return sum(1 for lane in self._lanes.values() if lane.busy) + self.requests.in_flight

    @property
    def default_model(self) -> str:
        return self.options.default_model

    def interrupt(self, session_key: str) -> bool:
        """Stop the session's current run (for /stop and /new); False when none was running."""
        lane = self._lanes.get(session_key)
        return lane is not None and lane.interrupt()

    def session_key_for(self, inbound: Inbound) -> str:
        return session_key(inbound.chat, inbound.sender_id, self.options.routing)

    # -- handling ----------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, inbound: Inbound) -> None:
        key = await self._admit(inbound)
        if key is not None:
            # Sent before this start: the person saw no run of ours, so there is nothing to interrupt.
            self._enqueue(key, [inbound], backlog=inbound.sent_at < self.started_at)

    async def _handle_backlog(self, events: list[Inbound]) -> None:
        """What piled up while the gateway or a platform was away, taken in as one input per session: no
        run of ours was visible to those people, so none is interrupted and none is announced as such."""
        sessions: dict[str, list[Inbound]] = {}
        for inbound in events:
            key = await self._admit(inbound)
            if key is not None:
                sessions.setdefault(key, []).append(inbound)
        for key, inputs in sessions.items():
            self._enqueue(key, inputs, backlog=True)

    async def _admit(self, inbound: Inbound) -> str | None:
        """Everything before the session lane (checks, commands); the session key when the event goes on
        to its lane, which then owns it until it is finished."""
        ident = (inbound.chat.platform, inbound.event_id)
        if ident in self._handling:
            return None
        self._handling.add(ident)
        key: str | None = None
        try:
            if ident in self._resumed and not await self._unanswered(ident):
                # Answered live since the resume read the inbox: a platform delivers as soon as it is up.
                self._resumed.discard(ident)
                return None
            key = await self.admission.route(inbound)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Marked finished so a poisonous event is not retried on every start.
            log.exception("%s: failed to handle event %s", inbound.chat.platform, inbound.event_id)
            await self.admission.skip(inbound, f"error: {type(exc).__name__}")
        finally:
            if key is None:
                self._handling.discard(ident)
        return key

    async def _unanswered(self, ident: tuple[str, str]) -> bool:
        event = await self.store.inbox.get(*ident)
        return event is not None and event.status == "pending"

    def _command_context(self, inbound: Inbound, key: str, command: Command, args: str) -> CommandContext:
        return CommandContext(
            inbound,
            key,
            command,
            args,
            sessions=self.store.sessions,
            homes=self.store.homes,
            runs=self,
            owners=self,
            default_model=self.default_model,
            uptime_seconds=self.clock() - self.started_at,
            remote=self.agent if isinstance(self.agent, ProxyAgent) else None,
        )

    # -- session lanes -----------------------------------------------------------------------------

    def _enqueue(self, key: str, inputs: list[Inbound], *, backlog: bool = False) -> None:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Lane(key)
        lane.waiting.extend(inputs)
        if lane.busy:
            if not backlog and self.options.busy_mode == "interrupt" and lane.interrupt():
                self._spawn(self._acknowledge_interrupt(inputs[-1]))
            return
        lane.task = asyncio.create_task(self._drain_lane(lane), name=f"lane-{key}")
        self._tasks.add(lane.task)
        lane.task.add_done_callback(self._tasks.discard)

    def run_again(self, key: str, inbound: Inbound) -> None:
        """Queue an input on a session as if it had just arrived (for /retry)."""
        self._enqueue(key, [inbound])

    async def _acknowledge_interrupt(self, inbound: Inbound) -> None:
        platform = self.platforms[inbound.chat.platform]
        try:
            await platform.send(inbound.chat, INTERRUPT_ACK, idempotency_key=f"{inbound.event_id}:ack")
        except Exception as exc:
            log.warning("%s: could not acknowledge an interrupt: %s", platform.name, exc)

    async def _drain_lane(self, lane: Lane) -> None:
        try:
            while lane.waiting and self._processing:
                batch = lane.take(merge=self.options.busy_mode == "interrupt")
                lane.cancel = asyncio.Event()
                try:
                    await self._run(lane.key, batch, lane.cancel)
                except asyncio.CancelledError:
                    raise
                except (FenceLost, LeaseLostError) as exc:
                    # Another replica holds the platform now and answers these events from the inbox,
                    # where they stay pending: marking them failed here could hide them from it.
                    log.warning("%s: %s; the replica holding it answers", batch[-1].chat.platform, exc)
                except Exception as exc:
                    # The reply could not be delivered (the platform refused or is gone); recorded as
                    # failed so it is not retried forever, and the lane goes on with the next input.
                    last = batch[-1]
                    log.exception("%s: reply to %s failed", last.chat.platform, last.event_id)
                    for item in batch:
                        await self.admission.skip(item, f"error: {type(exc).__name__}")
                finally:
                    self._handling.difference_update((item.chat.platform, item.event_id) for item in batch)
        finally:
            if not lane.waiting and self._lanes.get(lane.key) is lane:
                del self._lanes[lane.key]

    async def _run(self, key: str, batch: list[Inbound], cancel: asyncio.Event) -> None:
        last = batch[-1]
        platform = self.platforms[last.chat.platform]
        inbox = self.store.inbox
        anchor, existing = await self._reply_anchor(batch)

        held = platform.fence if isinstance(platform.fence, HeldLease) else None
        lease = held.fence if held is not None else None

        async def record_sent(chunk: int, message_id: str) -> None:
            await inbox.record_sent(platform.name, anchor.event_id, chunk, message_id, fence=lease)

        stream = ReplyStream(
            platform,
            last.chat,
            anchor.event_id,
            record_sent,
            existing=existing,
            tool_progress=self.options.tool_progress,
            throttle=EditThrottle(self.options.min_edit_interval, self.options.max_edits),
        )
        request = await chat_request(key, batch, platform, self._memory_scope(last))
        # A replica that loses the platform mid-run stops the run there: the replica holding the platform
        # now answers, and an answer finished here (that cannot be posted) must not reach the session.
        lapse = held.cancelling(cancel) if held is not None else contextlib.nullcontext()
        end: Final | Failed | None = None
        async with typing_shown(platform, last.chat), lapse:
            async for event in self.agent.run(request, cancel, self.approvals.services_for(platform)):
                if isinstance(event, Final | Failed):
                    end = event
                    break
                await stream.on_event(event)
        reply_ids = await stream.finish(end or Failed("the run ended without an answer"))
        if held is not None:
            # Stopped because the lease lapsed, perhaps before anything was sent: not done here.
            held.check()
        self.admission.answered(last)
        for item in batch:
            await inbox.mark_done(platform.name, item.event_id, reply_ids)

    async def _reply_anchor(self, batch: list[Inbound]) -> tuple[Inbound, dict[int, str]]:
        """The event the reply is sent under, with the chunks already sent for it. Normally the newest
        input; but a reply cut by a crash is finished in place, so a resumed event with chunks out wins."""
        anchor = batch[-1]
        existing: dict[int, str] = {}
        for item in batch:
            ident = (item.chat.platform, item.event_id)
            if ident not in self._resumed:
                continue
            self._resumed.discard(ident)
            sent = await self.store.inbox.sent_chunks(*ident)
            if sent and not existing:
                anchor, existing = item, sent
        return anchor, existing

    def _memory_scope(self, inbound: Inbound) -> str | None:
        """None (the owner's memory) for the owner; everyone else's memory is kept apart under their id."""
        platform = inbound.chat.platform
        if not inbound.sender_is_bot and self.is_owner(platform, inbound.sender_id):
            return None
        return f"{platform}:{inbound.sender_id}"
