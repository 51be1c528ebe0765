"""The `session_search` tool: full-text search over past conversations (state.db, FTS5).

Only conversations under the caller's own session key are searched: the gateway serves several people, and
one must not read another's chats through the model.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from hermes.agent.tools.base import ToolContext, ToolResult, int_arg, register_tool, string_arg

_OVERFETCH = 5


class SessionSearchTool:
    name = "session_search"
    description = (
        "Search the transcripts of past conversations in this chat (including parts of this conversation "
        "that were summarised) for messages containing all the given words "
        "(end a word with * for a prefix match). Returns matching snippets with their date and session."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "Words to look for."},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 50,
                "description": "At most this many hits.",
            },
        },
        "required": ["query"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        query = string_arg(args, "query")
        limit = int_arg(args, "limit", 10, low=1, high=50)
        if ctx.store is None:
            return ToolResult.error("there are no stored conversations to search in this context")
        # The store cannot filter by key yet, so ask for more and keep this chat's hits.
        found = await ctx.store.sessions.search(query, limit * _OVERFETCH)
        hits = [hit for hit in found if hit.session_key == ctx.session_key][:limit]
        if not hits:
            return ToolResult(f"No past messages match {query!r}.", summary="no matches")
        lines = [f"{len(hits)} match(es) for {query!r}:"]
        for hit in hits:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(hit.created_at))
            here = " (this conversation)" if hit.session_id == ctx.session_id else ""
            lines.append(f"- [{when}] {hit.role} in session {hit.session_id}{here}: {hit.snippet}")
        return ToolResult("\n".join(lines), summary=f"{len(hits)} match(es)")


register_tool(SessionSearchTool())
