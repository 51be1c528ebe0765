"""The hub's chat commands as Discord application (slash) commands, and their interactions.

At start the global commands are read and, only when they differ from what the hub offers, replaced
with one bulk overwrite: a restart with nothing changed writes nothing, so the daily command-creation
limit is never touched by restarts. A slash command is acknowledged at once (deferred, visible only to
its user, within Discord's 3 s), handed to the hub as the text `/name args` (the same path as a typed
`!name args`), and the placeholder is removed once the hub has it: the answer arrives as a message.
"""

from __future__ import annotations

import logging
from typing import Any

from hermes.platforms.base import ChatRef, Inbound
from hermes.platforms.discord.catchup import snowflake_ms
from hermes.platforms.discord.channels import Channels
from hermes.platforms.discord.inbound import PLATFORM
from hermes.platforms.discord.rest import ONCE, DiscordError, RestClient
from hermes.platforms.discord.wire import obj

log = logging.getLogger(__name__)

EPHEMERAL = 64
DEFERRED_MESSAGE = 5
STRING_OPTION = 3
MAX_COMMANDS = 100


def command_specs(menu: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """One slash command per hub command, with one free-text `args` option."""
    specs = [
        {
            "name": name,
            "type": 1,
            "description": (summary or name)[:100],
            "options": [
                {"type": STRING_OPTION, "name": "args", "description": "arguments", "required": False}
            ],
        }
        for name, summary in menu
    ]
    return specs[:MAX_COMMANDS]


def _comparable(commands: Any) -> list[tuple[Any, ...]]:
    if not isinstance(commands, list):
        return []
    found = []
    for c in commands:
        if not isinstance(c, dict):
            continue
        options = tuple(
            (o.get("type"), o.get("name"), o.get("description"), bool(o.get("required")))
            for o in c.get("options") or ()
            if isinstance(o, dict)
        )
        found.append((c.get("name"), c.get("type", 1), c.get("description"), options))
    return sorted(found, key=lambda t: str(t[0]))


async def sync_commands(rest: RestClient, app_id: str, desired: list[dict[str, Any]]) -> bool:
    """Make the application's global commands `desired`; True when they had to be written."""
    route = "/applications/{app_id}/commands"
    current = await rest.request("GET", route, params={"app_id": app_id})
    if _comparable(current) == _comparable(desired):
        return False
    await rest.request("PUT", route, params={"app_id": app_id}, json_body=desired)
    log.info("discord: registered %d slash commands", len(desired))
    return True


async def interaction_inbound(rest: RestClient, channels: Channels, data: dict[str, Any]) -> Inbound | None:
    """Acknowledge a slash command and turn it into the hub's input; None for other interactions."""
    command = obj(data.get("data"))
    if data.get("type") != 2 or not command:
        return None
    await rest.request(
        "POST",
        "/interactions/{interaction_id}/{token}/callback",
        params={"interaction_id": str(data["id"]), "token": str(data["token"])},
        json_body={"type": DEFERRED_MESSAGE, "data": {"flags": EPHEMERAL}},
        policy=ONCE,
    )
    args = " ".join(
        str(o.get("value")) for o in command.get("options") or () if isinstance(o, dict) and o.get("value")
    )
    user = obj(obj(data.get("member")).get("user")) or obj(data.get("user"))
    channel_id = str(data.get("channel_id") or "")
    is_dm = not data.get("guild_id")
    if isinstance(data.get("channel"), dict):
        channels.learn(data["channel"], data.get("guild_id"))
    channel = None if is_dm else await channels.get(channel_id)
    thread_id = channel.id if channel is not None and channel.is_thread else None
    chat_id = channel.parent_id if thread_id and channel and channel.parent_id else channel_id
    return Inbound(
        event_id=str(data["id"]),
        chat=ChatRef(PLATFORM, chat_id, "dm" if is_dm else "channel", thread_id),
        sender_id=str(user.get("id") or ""),
        sender_name=str(user.get("global_name") or user.get("username") or ""),
        text=f"/{command.get('name')} {args}".strip(),
        addressed=True,
        sent_at=snowflake_ms(int(data["id"])) / 1000.0,
        sender_is_bot=bool(user.get("bot")),
    )


async def clear_placeholder(rest: RestClient, app_id: str, token: str) -> None:
    try:
        await rest.request(
            "DELETE",
            "/webhooks/{webhook_id}/{token}/messages/@original",
            params={"webhook_id": app_id, "token": token},
            policy=ONCE,
        )
    except DiscordError as exc:
        log.debug("discord: could not remove the slash-command placeholder: %s", exc)
