"""The Matrix settings: the `matrix:` block of config.yaml and the `MATRIX_*` environment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from hermes.config.settings import Env, Secret
from hermes.platforms.base import PlatformSettings

E2EEMode = Literal["off", "optional", "required"]


class MatrixSettings(PlatformSettings):
    homeserver: Annotated[
        str | None, Env("MATRIX_HOMESERVER"), Field(description="The bot account's homeserver URL.")
    ] = None
    access_token: Annotated[
        str | None,
        Env("MATRIX_ACCESS_TOKEN"),
        Secret,
        Field(description="The bot's access token (or use user id + password)."),
    ] = None
    user_id: Annotated[
        str | None,
        Env("MATRIX_USER_ID"),
        Field(description="The bot's user id, `@name:server` (needed for password login)."),
    ] = None
    password: Annotated[
        str | None,
        Env("MATRIX_PASSWORD"),
        Secret,
        Field(description="The bot's password; the session it opens is kept and reused."),
    ] = None
    device_id: Annotated[
        str | None,
        Env("MATRIX_DEVICE_ID"),
        Field(description="The device to log in as (keeps encryption keys across logins)."),
    ] = None
    allowed_users: Annotated[
        list[str],
        Env("MATRIX_ALLOWED_USERS"),
        Field(description="User ids that may talk to the bot (none: nobody)."),
    ] = []
    allow_all_users: Annotated[
        bool, Env("MATRIX_ALLOW_ALL_USERS"), Field(description="Let everyone talk to the bot.")
    ] = False
    encryption: Annotated[
        bool,
        Env("MATRIX_ENCRYPTION"),
        Field(description="Older switch for end-to-end encryption; true means `e2ee_mode: required`."),
    ] = False
    e2ee_mode: Annotated[
        E2EEMode | None,
        Env("MATRIX_E2EE_MODE"),
        Field(description="End-to-end encryption: `off`, `optional` or `required`."),
    ] = None
    recovery_key: Annotated[
        str | None,
        Env("MATRIX_RECOVERY_KEY"),
        Secret,
        Field(description="Key-backup recovery key, to read encrypted history after a new login."),
    ] = None
    home_room: Annotated[
        str | None,
        Env("MATRIX_HOME_ROOM"),
        Field(description="Room for proactive messages (cron results); `/sethome` overrides it."),
    ] = None
    require_mention: Annotated[
        bool,
        Env("MATRIX_REQUIRE_MENTION"),
        Field(description="In rooms, answer only when mentioned (DMs always)."),
    ] = True
    free_response_rooms: Annotated[
        list[str],
        Env("MATRIX_FREE_RESPONSE_ROOMS"),
        Field(description="Rooms where the bot answers without a mention."),
    ] = []
    auto_thread: Annotated[
        bool, Env("MATRIX_AUTO_THREAD"), Field(description="Answer room messages in a thread.")
    ] = True
    dm_mention_threads: Annotated[
        bool,
        Env("MATRIX_DM_MENTION_THREADS"),
        Field(description="Also thread replies to mentions in DMs."),
    ] = False
    process_notices: Annotated[
        bool, Field(description="Treat `m.notice` messages (usually from bots) as input.")
    ] = False
    ignore_user_patterns: Annotated[
        list[str], Field(description="Regular expressions of user ids whose messages are ignored.")
    ] = []
    max_media_bytes: Annotated[int, Field(ge=0, description="Largest attachment downloaded.")] = (
        50 * 1024 * 1024
    )
    max_message_chars: Annotated[
        int, Field(ge=100, le=60_000, description="Longer replies are split into several messages.")
    ] = 16_000

    @property
    def configured(self) -> bool:
        return bool(self.homeserver and (self.access_token or (self.user_id and self.password)))

    @property
    def effective_e2ee_mode(self) -> E2EEMode:
        """`MATRIX_E2EE_MODE` wins; the older `MATRIX_ENCRYPTION=true` means required."""
        if self.e2ee_mode is not None:
            return self.e2ee_mode
        return "required" if self.encryption else "off"
