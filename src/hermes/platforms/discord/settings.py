"""The Discord settings: the `discord:` block of config.yaml and the `DISCORD_*` environment, with the
names, meanings and defaults of the system we are compatible with (see docs/discord.md for the keys of
that system we do not carry over, and why)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from hermes.config.settings import Env, Secret
from hermes.platforms.base import PlatformSettings

DEFAULT_API_URL = "https://discord.com/api/v10"


def _ids(raw: object) -> object:
    """Ids as the reference accepts them: `123`, `<@123>`, `<@!123>`, `user:123`, `#name`."""
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list):
        return raw
    found = []
    for item in items:
        text = str(item).strip().removeprefix("user:").removeprefix("<@").removeprefix("!").removesuffix(">")
        text = text.removeprefix("#").strip()
        if text:
            found.append(text)
    return found


Ids = Annotated[list[str], BeforeValidator(_ids)]


def _doc(text: str) -> object:
    return Field(description=text)


class DiscordSettings(PlatformSettings):
    bot_token: Annotated[
        str | None, Env("DISCORD_BOT_TOKEN"), Secret, _doc("The bot's token (Developer Portal → Bot).")
    ] = None
    api_url: Annotated[
        str,
        Env("DISCORD_API_URL"),
        _doc("REST base URL; the Gateway URL comes from `GET /gateway/bot` on it."),
    ] = DEFAULT_API_URL
    allowed_users: Annotated[
        Ids,
        Env("DISCORD_ALLOWED_USERS"),
        _doc("User ids (Developer Mode → Copy User ID) that may talk to the bot."),
    ] = []
    allow_all_users: Annotated[
        bool, Env("DISCORD_ALLOW_ALL_USERS"), _doc("Let everyone talk to the bot.")
    ] = False
    allowed_channels: Annotated[
        Ids,
        Env("DISCORD_ALLOWED_CHANNELS"),
        _doc("Channel ids or names the bot works in (a thread counts as its channel); empty: any."),
    ] = []
    require_mention: Annotated[
        bool, Env("DISCORD_REQUIRE_MENTION"), _doc("In channels, answer only when mentioned (DMs always).")
    ] = True
    free_response_channels: Annotated[
        Ids, Env("DISCORD_FREE_RESPONSE_CHANNELS"), _doc("Channels where the bot answers without a mention.")
    ] = []
    ignored_channels: Annotated[
        Ids,
        Env("DISCORD_IGNORED_CHANNELS"),
        _doc("Channels where the bot never answers, even when mentioned."),
    ] = []
    no_thread_channels: Annotated[
        Ids, Env("DISCORD_NO_THREAD_CHANNELS"), _doc("Channels where a mention is answered in the channel.")
    ] = []
    auto_thread: Annotated[
        bool,
        Env("DISCORD_AUTO_THREAD"),
        _doc("Answer a mention in a channel in a new thread on the message."),
    ] = True
    thread_require_mention: Annotated[
        bool,
        Env("DISCORD_THREAD_REQUIRE_MENTION"),
        _doc("In the bot's threads, answer only when mentioned."),
    ] = False
    allow_bots: Annotated[
        Literal["none", "mentions", "all"],
        Env("DISCORD_ALLOW_BOTS"),
        BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
        _doc("Messages from other bots: `none`, `mentions` (only when they mention the bot) or `all`."),
    ] = "none"
    reactions: Annotated[
        bool, Env("DISCORD_REACTIONS"), _doc("Mark a message 👀 while it is processed and ✅ when answered.")
    ] = True
    home_channel: Annotated[
        str | None,
        Env("DISCORD_HOME_CHANNEL"),
        _doc("Channel id for proactive messages; `/sethome` overrides it."),
    ] = None
    home_channel_name: Annotated[
        str, Env("DISCORD_HOME_CHANNEL_NAME"), _doc("What the home channel is called in messages.")
    ] = "Home"
    home_channel_thread_id: Annotated[
        str | None,
        Env("DISCORD_HOME_CHANNEL_THREAD_ID"),
        _doc("A thread of the home channel to post in instead."),
    ] = None
    reply_to_mode: Annotated[
        Literal["off", "first", "all"],
        Env("DISCORD_REPLY_TO_MODE"),
        BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
        _doc("Show answers as Discord replies to the message: `first` chunk only, `all` chunks, or `off`."),
    ] = "first"
    max_attachment_bytes: Annotated[
        int, Env("DISCORD_MAX_ATTACHMENT_BYTES"), Field(ge=0, description="Largest attachment downloaded.")
    ] = 32 * 1024 * 1024
    proxy: Annotated[
        str | None,
        Env("DISCORD_PROXY"),
        _doc("HTTP proxy for REST and the Gateway, e.g. `http://proxy:3128`."),
    ] = None
    allow_mention_everyone: Annotated[
        bool, Env("DISCORD_ALLOW_MENTION_EVERYONE"), _doc("Let replies ping @everyone and @here.")
    ] = False
    allow_mention_roles: Annotated[
        bool, Env("DISCORD_ALLOW_MENTION_ROLES"), _doc("Let replies ping roles.")
    ] = False
    allow_mention_users: Annotated[
        bool, Env("DISCORD_ALLOW_MENTION_USERS"), _doc("Let replies ping users.")
    ] = True
    allow_mention_replied_user: Annotated[
        bool, Env("DISCORD_ALLOW_MENTION_REPLIED_USER"), _doc("Let a reply ping the author it replies to.")
    ] = True

    @property
    def configured(self) -> bool:
        return bool((self.bot_token or "").strip())
