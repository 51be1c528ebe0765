"""Application commands and slash-command interactions: the application, an interaction's life (created,
acknowledged once, its original response edited or deleted), and INTERACTION_CREATE's wire form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import errors
from .model import CHAT_INPUT_COMMAND, Channel, User

if TYPE_CHECKING:
    from collections.abc import Callable

    from .snowflakes import SnowflakeMint

MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass
class Interaction:
    id: str
    token: str
    channel_id: str
    user_id: str
    name: str
    options: list[dict[str, Any]]
    guild_id: str | None
    responded: int | None = None  # callback type
    response_flags: int = 0
    original: str | None = None  # content of the original response
    deleted: bool = False
    followups: list[str] = field(default_factory=list)


@dataclass
class App:
    id: str
    name: str
    flags: int
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> command
    command_writes: int = 0  # every create/overwrite/edit/delete, for "not on every restart" checks


class InteractionsMixin:
    """The interaction half of `World` (which supplies these attributes)."""

    mint: SnowflakeMint
    app: App | None
    bot: User | None
    users: dict[str, User]
    channels: dict[str, Channel]
    interactions: dict[str, Interaction]
    publish: Callable[[str, dict[str, Any], Channel], None]
    create_message: Callable[..., Any]

    def create_interaction(
        self, user: User, channel: Channel, name: str, options: list[dict[str, Any]]
    ) -> Interaction:
        if self.app is None or name not in self.app.commands:
            raise ValueError(f"/{name} is not registered: a client cannot invoke it")
        interaction = Interaction(
            self.mint(), f"itoken-{self.mint()}", channel.id, user.id, name, options, channel.guild_id
        )
        self.interactions[interaction.id] = interaction
        self.publish("INTERACTION_CREATE", {"interaction": interaction.id}, channel)
        return interaction

    def interaction_wire(self, interaction: Interaction) -> dict[str, Any]:
        assert self.app is not None
        channel = self.channels[interaction.channel_id]
        command = self.app.commands[interaction.name]
        data: dict[str, Any] = {
            "id": interaction.id,
            "application_id": self.app.id,
            "type": 2,
            "token": interaction.token,
            "version": 1,
            "channel_id": channel.id,
            "channel": channel.wire(self.users),
            "locale": "en-US",
            "attachment_size_limit": MAX_FILE_BYTES,
            "data": {
                "id": command["id"],
                "name": interaction.name,
                "type": 1,
                "options": interaction.options,
            },
        }
        user = self.users[interaction.user_id].wire()
        if interaction.guild_id:
            data["guild_id"] = interaction.guild_id
            data["member"] = {"user": user, "roles": [], "permissions": "0"}
        else:
            data["user"] = user
        return data

    def respond(self, interaction: Interaction, body: dict[str, Any]) -> None:
        if interaction.responded is not None:
            raise errors.already_acknowledged()
        kind = body.get("type")
        if kind not in (1, 4, 5, 6, 7, 8, 9):
            raise errors.form_error(
                "type", "BASE_TYPE_CHOICES", "Value must be one of {1, 4, 5, 6, 7, 8, 9}."
            )
        data = body.get("data") or {}
        interaction.responded = kind
        interaction.response_flags = int(data.get("flags") or 0)
        interaction.original = data.get("content") if kind == 4 else None
        if kind == 4 and not interaction.response_flags & 64:
            assert self.bot is not None
            self.create_message(
                self.bot,
                interaction.channel_id,
                {"content": data.get("content") or ""},
                type_=CHAT_INPUT_COMMAND,
            )

    def interaction_by_token(self, token: str) -> Interaction:
        for interaction in self.interactions.values():
            if interaction.token == token:
                return interaction
        raise errors.unknown_interaction()
