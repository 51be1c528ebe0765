"""The `send_message` tool: post to a platform's home channel (notifications, results of scheduled jobs).

It goes through the gateway's own send path, so an encrypted room gets an encrypted message. Only home
channels are reachable: the model cannot be talked into posting in arbitrary rooms the bot is in.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hermes.agent.tools.base import ToolArgumentError, ToolContext, ToolResult, register_tool, string_arg

MAX_TEXT_CHARS = 16_000


def home_target(raw: str, platform: str) -> str:
    """`home:<platform>` for `home`, `home:<p>` or a bare platform name; the caller's platform by default."""
    value = raw.strip()
    if value in ("", "home"):
        return f"home:{platform}"
    scope, sep, rest = value.partition(":")
    if sep and scope == "home" and rest:
        return value
    if not sep and value.replace("_", "").replace("-", "").isalnum():
        return f"home:{value}"
    raise ToolArgumentError(
        f"target must be 'home' (this platform's home channel), 'home:<platform>' or a platform name, "
        f"not {raw!r}; other chats cannot be posted to"
    )


class SendMessageTool:
    name = "send_message"
    description = (
        "Post a message to a platform's home channel (set by the operator or with /sethome), e.g. to "
        "notify people from a scheduled job. target: 'home' (this platform, the default), "
        "'home:<platform>' or a platform's name (its home channel). Your normal reply already reaches the "
        "current chat; use this only to reach the home channel."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "The message (Markdown)."},
            "target": {"type": "string", "description": "'home', 'home:<platform>' or a platform name."},
        },
        "required": ["text"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        text = string_arg(args, "text")
        if not text.strip():
            raise ToolArgumentError("argument 'text' is blank")
        if len(text) > MAX_TEXT_CHARS:
            raise ToolArgumentError(f"text is {len(text)} chars; at most {MAX_TEXT_CHARS}")
        target = home_target(string_arg(args, "target", required=False), ctx.platform)
        if ctx.services is None:
            return ToolResult.error("messages can only be sent while the gateway runs, not from here")
        try:
            message_id = await ctx.services.send_message(target, text)
        except LookupError as exc:
            return ToolResult.error(str(exc))
        return ToolResult(f"Posted to {target} (message {message_id}).", summary=f"posted to {target}")


register_tool(SendMessageTool())
