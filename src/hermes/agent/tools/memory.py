"""The `memory` tool: add, replace and remove entries in MEMORY.md (the agent's notes) or USER.md."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from hermes.agent.memory import MEMORY_LIMIT, UNTRUSTED_MARK, USER_LIMIT, MemoryEditError, Target
from hermes.agent.tools.base import ToolContext, ToolResult, register_tool, string_arg


class MemoryTool:
    name = "memory"
    description = (
        "Edit your persistent memory, shown in your system prompt in every conversation. "
        f"target 'memory' is your own notes (MEMORY.md, max {MEMORY_LIMIT} chars); target 'user' is what "
        f"you know about the user (USER.md, max {USER_LIMIT} chars). 'add' appends an entry; 'replace' and "
        "'remove' find the one entry containing old_text. Keep entries short and durable."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["add", "replace", "remove"]},
            "target": {"type": "string", "enum": ["memory", "user"]},
            "content": {"type": "string", "description": "The entry text, for add and replace."},
            "old_text": {
                "type": "string",
                "description": "A unique part of the existing entry, for replace and remove.",
            },
        },
        "required": ["action", "target"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        action = string_arg(args, "action", choices=("add", "replace", "remove"))
        target = cast(Target, string_arg(args, "target", choices=("memory", "user")))
        try:
            if action == "add":
                message = await ctx.memory.add(target, _marked(string_arg(args, "content"), ctx))
            elif action == "replace":
                message = await ctx.memory.replace(
                    target, string_arg(args, "old_text"), _marked(string_arg(args, "content"), ctx)
                )
            else:
                message = await ctx.memory.remove(target, string_arg(args, "old_text"))
        except MemoryEditError as exc:
            return ToolResult.error(str(exc))
        return ToolResult(message, summary=f"{action} {target}")


def _marked(content: str, ctx: ToolContext) -> str:
    """After outside content came in, an entry may be an instruction planted there: it says so."""
    content = content.strip()
    if ctx.read_untrusted and not content.startswith(UNTRUSTED_MARK):
        return UNTRUSTED_MARK + content
    return content


register_tool(MemoryTool())
