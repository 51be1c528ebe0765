"""The Mattermost settings: the `mattermost:` block of config.yaml and the `MATTERMOST_*` environment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from hermes.config.settings import Env, Secret
from hermes.platforms.base import PlatformSettings


class MattermostSettings(PlatformSettings):
    url: Annotated[
        str | None,
        Env("MATTERMOST_URL"),
        Field(description="The server's address, e.g. `https://mm.example.com`."),
    ] = None
    token: Annotated[
        str | None,
        Env("MATTERMOST_TOKEN"),
        Secret,
        Field(description="The bot account's (or a personal) access token."),
    ] = None
    allowed_users: Annotated[
        list[str],
        Env("MATTERMOST_ALLOWED_USERS"),
        Field(description="User ids (26 characters, not usernames) that may talk to the bot."),
    ] = []
    allow_all_users: Annotated[
        bool, Env("MATTERMOST_ALLOW_ALL_USERS"), Field(description="Let everyone talk to the bot.")
    ] = False
    home_channel: Annotated[
        str | None,
        Env("MATTERMOST_HOME_CHANNEL"),
        Field(description="Channel id for proactive messages; `/sethome` overrides it."),
    ] = None
    reply_mode: Annotated[
        Literal["thread", "off"],
        Env("MATTERMOST_REPLY_MODE"),
        Field(description="`thread`: answer in a thread under the message; `off`: in the channel."),
    ] = "off"
    require_mention: Annotated[
        bool,
        Env("MATTERMOST_REQUIRE_MENTION"),
        Field(description="In channels, answer only when mentioned (DMs always)."),
    ] = True
    free_response_channels: Annotated[
        list[str],
        Env("MATTERMOST_FREE_RESPONSE_CHANNELS"),
        Field(description="Channel ids where the bot answers without a mention."),
    ] = []
    max_message_chars: Annotated[
        int,
        Field(ge=100, le=16_383, description="Longer replies are split (the server's limit is 16,383)."),
    ] = 16_383
    max_file_bytes: Annotated[int, Field(ge=0, description="Largest attachment downloaded.")] = (
        50 * 1024 * 1024
    )

    @property
    def configured(self) -> bool:
        return bool(self.url and self.token)
