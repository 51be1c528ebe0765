"""The system prompt: SOUL.md, guidance, the skills index and platform hints first (stable, cacheable), then
the memory snapshot and the date (these change, so they come last)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hermes.agent.memory import MEMORY_LIMIT, USER_LIMIT, MemoryFiles, MemorySnapshot, join_entries
from hermes.agent.messages import SystemPrompt
from hermes.agent.skills import Skill, SkillIndex

_CHAT_KINDS = {
    "dm": "This is a direct, one-to-one conversation.",
    "group": "This is a group chat: several people may write here, so address the person who asked.",
    "channel": "This is a channel shared by several people: address the person who asked.",
    "api": "",
}
_MEMORY_GUIDANCE = (
    "You have persistent memory across conversations. Use the `memory` tool to save durable facts: what you "
    "learn about the user goes to the `user` target, your own notes (environment, conventions, lessons) to "
    "`memory`. Keep entries short; replace or remove stale ones. Do not save one-off task details."
)
_SEARCH_GUIDANCE = "Use `session_search` to recall what was said in earlier conversations."
_TODO_GUIDANCE = "For multi-step work, keep a task list with the `todo` tool and update it as you go."


@dataclass(frozen=True)
class PromptInputs:
    platform: str
    chat_kind: str
    user_name: str = ""
    extra_system: str | None = None
    tool_names: Sequence[str] = ()
    # The platform's own words on how it shows text.
    platform_hint: str = ""
    # Whose memory goes in (see agent.memory): None for the owner's.
    memory_scope: str | None = None


class PromptBuilder:
    def __init__(
        self, memory: MemoryFiles, skills: SkillIndex, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._memory = memory
        self._skills = skills
        self._clock = clock

    async def warm(self) -> None:
        """Parses every skill's front matter once, in a thread, so that turns only look for changes."""
        await asyncio.to_thread(self._skills.scan)

    def build(self, inputs: PromptInputs) -> SystemPrompt:
        """Reads the files afresh, since other programs may have changed them, on the event loop: three
        small capped files and a stat per skill take ~40 us, where a hop to a thread took 270 us of CPU per
        turn on the 2-core reference machine, a quarter of an API request's cost."""
        snapshot, skills = self._memory.scoped(inputs.memory_scope).read_snapshot(), self._skills.scan()
        return render(snapshot, skills, inputs, time.localtime(self._clock()))


def render(
    snapshot: MemorySnapshot, skills: Sequence[Skill], inputs: PromptInputs, now: time.struct_time
) -> SystemPrompt:
    stable = [snapshot.soul] if snapshot.soul else []
    guidance = []
    if "memory" in inputs.tool_names:
        guidance.append(_MEMORY_GUIDANCE)
    if "session_search" in inputs.tool_names:
        guidance.append(_SEARCH_GUIDANCE)
    if "todo" in inputs.tool_names:
        guidance.append(_TODO_GUIDANCE)
    if guidance:
        stable.append("\n".join(guidance))
    if skills:
        lines = [
            "## Skills",
            "Instructions for specific tasks; read a skill's SKILL.md before doing its task.",
        ]
        lines.extend(
            f"- {s.category}/{s.name}: {s.description}" if s.description else f"- {s.category}/{s.name}"
            for s in skills
        )
        stable.append("\n".join(lines))
    where = [inputs.platform_hint or f"You are chatting on {inputs.platform}."]
    kind = _CHAT_KINDS.get(inputs.chat_kind, "")
    if kind:
        where.append(kind)
    if inputs.user_name and inputs.chat_kind == "dm":
        where.append(f"You are talking with {inputs.user_name}.")
    stable.append(" ".join(where))
    if inputs.extra_system:
        stable.append(inputs.extra_system)

    volatile = []
    if snapshot.memory:
        text = join_entries(snapshot.memory)
        volatile.append(f"## Memory (your notes, {len(text)}/{MEMORY_LIMIT} chars)\n{text.rstrip()}")
    if snapshot.user:
        text = join_entries(snapshot.user)
        volatile.append(f"## User profile ({len(text)}/{USER_LIMIT} chars)\n{text.rstrip()}")
    volatile.append(time.strftime("Today is %A, %d %B %Y.", now))
    return SystemPrompt("\n\n".join(stable), "\n\n".join(volatile))
