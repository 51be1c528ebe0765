"""`LocalAgent`: the agent in this process, behind the `AgentPort` the gateway calls.

Each run is a producer task feeding a queue; the caller's iterator reads the queue. Cancelling the run
cancels the task wherever it waits (the provider's stream, a backoff sleep, a tool), so a run stops within
a second of `cancel` being set, whatever it was doing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import cast

from hermes.agent.auxiliary import auxiliary_model
from hermes.agent.compression import Compressor
from hermes.agent.contract import AgentEvent, Failed, Final, GatewayServices, RunRequest, ToolFinished
from hermes.agent.loop import AgentLoop, LoopSettings
from hermes.agent.memory import MemoryFiles
from hermes.agent.messages import Message
from hermes.agent.prompt import PromptBuilder, PromptInputs
from hermes.agent.providers import create_provider
from hermes.agent.providers.base import Provider, ProviderConfigError, redact
from hermes.agent.providers.retry import RetryPolicy
from hermes.agent.sessions import Conversation, ConversationStore, from_chat_message, with_image_note
from hermes.agent.shared_home import SharedHome
from hermes.agent.skills import SkillIndex
from hermes.agent.titles import TitleWriter
from hermes.agent.tools import load_tool_modules, select_tools
from hermes.agent.tools.base import Tool, ToolContext, registered_tools, tools_generation
from hermes.config.loader import LoadedConfig
from hermes.store import Store, StoreError

log = logging.getLogger(__name__)

# After `cancel`, how long the run may take to write what it has before its iterator gives up on it.
CANCEL_GRACE_SECONDS = 0.8
_END = object()
_CANCELLED = object()


class LocalAgent:
    def __init__(
        self,
        config: LoadedConfig,
        store: Store | None,
        *,
        provider: Provider | None = None,
        retry: RetryPolicy | None = None,
        tools: Mapping[str, Tool] | None = None,
        max_cached_sessions: int = 128,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`tools` replaces the registry (every registered tool by default); `tools.enabled`/`disabled` still
        apply. Raises ProviderConfigError when the settings name no usable provider (missing key or URL)."""
        settings = config.settings
        self.config = config
        self.settings = settings
        self.store = store
        self.provider = provider or create_provider(settings)
        # With PostgreSQL, SOUL.md, memories/ and skills/ are shared by every replica.
        self.shared = SharedHome.for_store(config.paths.home, store)
        self.memory = MemoryFiles(config.paths, shared=self.shared)
        self.conversations = ConversationStore(
            store, keep_first=settings.compression.keep_first, max_cached=max_cached_sessions
        )
        policy = retry or RetryPolicy.from_settings(settings.model)
        summariser = auxiliary_model(settings, "compression", self.provider)
        self.compressor = Compressor(
            summariser, policy, self.conversations, settings.compression, settings.model.context_length
        )
        self.titles: TitleWriter | None = None
        auxiliaries = [summariser]
        titles = settings.auxiliary.title_generation
        # Titles cost a model call per session: only when the operator named a title model for them.
        if titles.enabled and (titles.model or titles.base_url) and store is not None:
            titler = auxiliary_model(settings, "title_generation", self.provider)
            self.titles = TitleWriter(titler, policy, store.sessions)
            auxiliaries.append(titler)
        self._own_providers = [aux.provider for aux in auxiliaries if aux.own]
        self.loop = AgentLoop(
            self.provider,
            policy,
            self.conversations,
            self.compressor,
            LoopSettings(
                max_turns=settings.agent.max_turns,
                tool_timeout=settings.agent.tool_timeout_seconds,
                max_tokens=settings.model.max_output_tokens,
            ),
        )
        self.prompt = PromptBuilder(self.memory, SkillIndex(config.paths.skills), clock=clock)
        self._tools = dict(tools) if tools is not None else load_tool_modules()
        self._tools_by_platform: dict[str, list[Tool]] = {}
        # With the shared registry, tools come and go at run time (MCP servers start and die).
        self._follows_registry = tools is None
        self._tools_seen = tools_generation()
        self._started = False
        self._secrets = config.secret_values()

    def tools_for(self, platform: str) -> list[Tool]:
        if self._follows_registry and tools_generation() != self._tools_seen:
            self._tools_seen = tools_generation()
            self._tools = registered_tools()
            self._tools_by_platform.clear()
        tools = self._tools_by_platform.get(platform)
        if tools is None:
            tools = select_tools(self._tools.values(), self.settings, platform)
            self._tools_by_platform[platform] = tools
        return tools

    def conversation(self, session_key: str) -> Conversation | None:
        """The loaded conversation for a key, if it is in memory (for status displays)."""
        return self.conversations.cached(session_key)

    async def start(self) -> None:
        """Before the first run (the first run does it if nobody did): the shared files in step, a default
        SOUL.md, the skills index parsed."""
        if self._started:
            return
        if self.shared is not None:
            # First the shared SOUL.md, so that a default one is written only when no replica has one.
            await self.shared.start()
        await asyncio.to_thread(self.memory.ensure_defaults)
        if self.shared is not None:
            await self.shared.sync()
        await self.prompt.warm()
        self._started = True

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()
        if self.titles is not None:
            await self.titles.close()
        for provider in (self.provider, *self._own_providers):
            await provider.close()

    async def run(
        self, request: RunRequest, cancel: asyncio.Event, services: GatewayServices | None = None
    ) -> AsyncIterator[AgentEvent]:
        if cancel.is_set():
            yield Failed("The run was cancelled.", cancelled=True)
            return
        queue: asyncio.Queue[object] = asyncio.Queue()
        producer = asyncio.create_task(self._produce(request, services, queue.put_nowait))
        watcher = asyncio.create_task(cancel.wait())

        def on_cancel(_: asyncio.Task[object]) -> None:
            if cancel.is_set():
                producer.cancel()
                queue.put_nowait(_CANCELLED)

        watcher.add_done_callback(on_cancel)
        deadline: float | None = None
        finished = False
        try:
            while True:
                if deadline is None:
                    item = await queue.get()
                else:
                    try:
                        async with asyncio.timeout_at(deadline):
                            item = await queue.get()
                    except TimeoutError:
                        item = _END
                if item is _CANCELLED:
                    deadline = asyncio.get_running_loop().time() + CANCEL_GRACE_SECONDS
                    continue
                if item is _END:
                    break
                if finished:
                    continue
                event = cast(AgentEvent, item)
                if isinstance(event, Final | Failed):
                    finished = True
                yield event
            if not finished:
                yield Failed("The run was cancelled.", cancelled=True)
        finally:
            watcher.cancel()
            producer.cancel()

    async def _produce(
        self, request: RunRequest, services: GatewayServices | None, emit: Callable[[object], None]
    ) -> None:
        try:
            try:
                result: AgentEvent = await self._run(request, services, emit)
            except asyncio.CancelledError:
                result = Failed("The run was cancelled.", cancelled=True)
            except (ProviderConfigError, StoreError) as exc:
                log.error("run for %s failed: %s", request.session_key, exc)
                result = Failed(f"The agent could not run: {exc}")
            except Exception:
                log.exception("run for %s failed", request.session_key)
                result = Failed("Something went wrong inside the agent; the error was logged.")
            if isinstance(result, Failed):
                # Providers already leave keys out; this catches a secret a server echoed in another form.
                result = dataclasses.replace(result, message=redact(result.message, self._secrets))
            emit(result)
        finally:
            emit(_END)

    async def _run(
        self, request: RunRequest, services: GatewayServices | None, emit: Callable[[object], None]
    ) -> Final | Failed:
        await self.start()
        if self.store is None:
            conversation = self.conversations.unstored(request)
        else:
            conversation = await self.conversations.open(request)
        async with conversation.lock:
            conversation.store_at_end = request.store_at_end
            try:
                result = await self._turn(conversation, request, services, emit)
            except asyncio.CancelledError:
                # What the caller saw of a cancelled run is kept, as when each message is stored at once.
                await self.conversations.flush(conversation)
                raise
            await self.conversations.flush(conversation)
        if isinstance(result, Final):
            self._ask_for_title(conversation, request.text, result)
        return result

    def _ask_for_title(self, conversation: Conversation, question: str, answer: Final) -> None:
        """An untitled stored session gets a title from its first answered exchange (here, its first
        exchange since it was loaded: a session started before titles existed gets one too)."""
        if self.titles is None or conversation.session_id is None or conversation.title is not None:
            return
        if not answer.text:
            return
        conversation.title = ""
        self.titles.schedule(conversation.session_id, question, answer.text, answer.model)

    async def _turn(
        self,
        conversation: Conversation,
        request: RunRequest,
        services: GatewayServices | None,
        emit: Callable[[object], None],
    ) -> Final | Failed:
        tools = self.tools_for(request.platform)
        if request.unattended:
            tools = [t for t in tools if not getattr(t, "attended_only", False)]
        if self.shared is not None:
            await self.shared.refresh()
            emit = _poking(self.shared, emit)
        system = self.prompt.build(
            PromptInputs(
                platform=request.platform,
                chat_kind=request.chat_kind,
                platform_hint=request.platform_hint,
                user_name=request.user_name,
                extra_system=request.extra_system or None,
                tool_names=[t.name for t in tools],
                memory_scope=request.memory_scope,
            )
        )
        seed: list[Message] = []
        if request.seed and conversation.session_id is not None and not conversation.messages:
            seed = [from_chat_message(m) for m in request.seed]
        event_id = request.origin.event_id if request.origin is not None else None
        asked_before = conversation.question_from(event_id) if event_id else None
        # Images ride along for this run only: afterwards the context holds the question as a reload would
        # give it, with a note that there were images.
        with_images: tuple[Message, Message] | None = None
        if asked_before is None and (request.text or request.images):
            user = Message("user", request.text, images=request.images, event_id=event_id)
            # The seed and the question in one write: a new API session costs one transaction, not two.
            *_, user = await self.conversations.append(conversation, [*seed, user])
            seed = []
            if user.images:
                note = with_image_note(user.content, len(user.images))
                with_images = (user, dataclasses.replace(user, content=note, images=()))
        if seed:
            await self.conversations.append(conversation, seed)
        if asked_before is not None and request.images:
            # A run redone after a crash: its question is stored already, its images go along again.
            user = dataclasses.replace(asked_before, content=request.text, images=request.images)
            conversation.replace_last(asked_before, user)
            with_images = (user, asked_before)
        ctx = ToolContext(
            session_key=request.session_key,
            session_id=conversation.session_id,
            platform=request.platform,
            chat_kind=request.chat_kind,
            user_id=request.user_id,
            origin=request.origin,
            services=services,
            paths=self.config.paths,
            settings=self.settings,
            store=None if conversation.session_id is None else self.store,
            memory=self.memory.scoped(request.memory_scope),
            memory_scope=request.memory_scope,
            read_untrusted=_read_untrusted(conversation.messages),
            state=conversation.state,
        )
        model = request.model_override or conversation.model_override or self.settings.model.default
        try:
            return await self.loop.run(conversation, system, tools, ctx, model, emit)
        finally:
            if with_images is not None:
                conversation.replace_last(*with_images)


def _poking(shared: SharedHome, emit: Callable[[object], None]) -> Callable[[object], None]:
    """`emit` that also has the shared home look for changed files once a tool has run (the skills tool,
    a file written by the terminal)."""

    def noting(event: object) -> None:
        if isinstance(event, ToolFinished):
            shared.poke()
        emit(event)

    return noting


def _read_untrusted(messages: Sequence[Message]) -> bool:
    """Whether the conversation already holds output of a tool that brings in outside content (a tool
    that is gone since, an MCP server's, counts as such)."""
    tools = registered_tools()
    for message in messages:
        if message.role == "tool" and message.name and not message.is_error:
            tool = tools.get(message.name)
            if tool is None or getattr(tool, "reads_untrusted", False):
                return True
    return False
