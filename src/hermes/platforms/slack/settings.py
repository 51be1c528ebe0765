"""The Slack settings: the `slack:` block of config.yaml and the `SLACK_*` environment, with the names and
defaults of the system we are compatible with (hermes-agent 0.19's Slack plugin)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from hermes.config.settings import Env, Secret
from hermes.platforms.base import PlatformSettings

DEFAULT_API_URL = "https://slack.com/api/"


class SlackSettings(PlatformSettings):
    bot_token: Annotated[
        str | None,
        Env("SLACK_BOT_TOKEN"),
        Secret,
        Field(description="The Bot User OAuth Token (`xoxb-…`), from the app's OAuth & Permissions page."),
    ] = None
    app_token: Annotated[
        str | None,
        Env("SLACK_APP_TOKEN"),
        Secret,
        Field(description="An app-level token (`xapp-…`) with `connections:write`, for Socket Mode."),
    ] = None
    api_url: Annotated[
        str,
        Env("SLACK_API_URL"),
        Field(description="The Web API base; the Socket Mode URL comes from `apps.connections.open` there."),
    ] = DEFAULT_API_URL
    allowed_users: Annotated[
        list[str],
        Env("SLACK_ALLOWED_USERS"),
        Field(description="Member ids (`U…`, not names) that may talk to the bot."),
    ] = []
    allow_all_users: Annotated[
        bool,
        Env("SLACK_ALLOW_ALL_USERS"),
        Field(description="Let everyone in the workspace talk to the bot."),
    ] = False
    home_channel: Annotated[
        str | None,
        Env("SLACK_HOME_CHANNEL"),
        Field(
            description="Channel id (`C…`) for cron results and proactive messages; `/sethome` overrides it."
        ),
    ] = None
    home_channel_name: Annotated[
        str,
        Env("SLACK_HOME_CHANNEL_NAME"),
        Field(description="The home channel's display name, for status output."),
    ] = ""
    allowed_channels: Annotated[
        list[str],
        Env("SLACK_ALLOWED_CHANNELS"),
        Field(description="If set, the only channels the bot answers in (DMs are never filtered)."),
    ] = []
    free_response_channels: Annotated[
        list[str],
        Env("SLACK_FREE_RESPONSE_CHANNELS"),
        Field(description="Channel ids where the bot answers every message, without a mention."),
    ] = []
    require_mention: Annotated[
        bool,
        Env("SLACK_REQUIRE_MENTION"),
        Field(description="In channels, answer only an @mention or a reply in the bot's thread."),
    ] = True
    strict_mention: Annotated[
        bool,
        Env("SLACK_STRICT_MENTION"),
        Field(description="In channels, every message needs an @mention, even in the bot's threads."),
    ] = False
    allow_bots: Annotated[
        Literal["none", "mentions", "all"],
        Env("SLACK_ALLOW_BOTS"),
        Field(description="Other bots' messages: `none`, those that mention the bot, or `all`."),
    ] = "none"
    reactions: Annotated[
        bool,
        Env("SLACK_REACTIONS"),
        Field(description="Mark a message 👀 while it is being answered and ✅ when done."),
    ] = True
    mention_patterns: Annotated[
        list[str],
        Env("SLACK_MENTION_PATTERNS"),
        Field(description="Regexes that count as a mention: a JSON list, or one per line or comma."),
    ] = []

    @property
    def configured(self) -> bool:
        return bool((self.bot_token or "").strip())
