"""The bot token scopes the adapter relies on, and which of them a token lacks (from auth.test's
`x-oauth-scopes` header)."""

from __future__ import annotations

# What each scope is for, as the operator will read it.
REQUIRED_SCOPES: dict[str, str] = {
    "app_mentions:read": "hear @mentions in channels",
    "chat:write": "post and edit replies",
    "im:history": "read DMs (and catch up on them after a restart)",
    "channels:history": "read public channels it is in",
    "groups:history": "read private channels it is in",
    "mpim:history": "read group DMs",
    "channels:read": "list the channels it is in",
    "groups:read": "list the private channels it is in",
    "im:read": "list its DMs",
    "mpim:read": "list its group DMs",
    "users:read": "know people's names",
    "files:read": "download files people send",
    "files:write": "upload files",
    "reactions:write": "mark messages 👀 / ✅ (SLACK_REACTIONS)",
    "reactions:read": "hear a ✅/❌ that answers an approval question",
    "commands": "the /hermes slash command",
}


def missing_scopes(header: str | None) -> list[str]:
    """The required scopes the token lacks; none when the header is absent (nothing to judge by)."""
    if header is None:
        return []
    granted = {s.strip() for s in header.split(",") if s.strip()}
    return [scope for scope in REQUIRED_SCOPES if scope not in granted]
