"""Users, tokens, teams, channels, memberships and statuses, with the permission rules the API applies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

from .errors import AppError
from .events import Broadcast, Event, Publisher
from .ids import new_id, now_ms
from .model import Channel, Member, Team, User, direct_channel_name, group_channel_name

_USERNAME = re.compile(r"^[a-z0-9.\-_]{1,64}$")
_RESERVED_USERNAMES = frozenset({"all", "channel", "matterbot", "system"})


class Directory:
    """Who exists, who belongs where, who is online. Mutations are synchronous: the loop is the lock."""

    def __init__(self, publisher: Publisher, clock: Callable[[], int] = now_ms) -> None:
        self.publisher = publisher
        self.clock = clock
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {}
        self.teams: dict[str, Team] = {}
        self.team_members: dict[str, set[str]] = {}
        self.channels: dict[str, Channel] = {}
        self.statuses: dict[str, str] = {}

    # users and tokens

    def create_user(
        self,
        username: str,
        *,
        is_bot: bool = False,
        first_name: str = "",
        last_name: str = "",
        nickname: str = "",
        bot_description: str = "",
        notify_props: dict[str, str] | None = None,
    ) -> User:
        username = username.lower()
        if not _USERNAME.match(username) or username in _RESERVED_USERNAMES:
            raise ValueError(f"invalid Mattermost username: {username!r}")
        if self.user_by_username(username) is not None:
            raise ValueError(f"username already taken: {username!r}")
        user = User(
            id=new_id(),
            username=username,
            create_at=self.clock(),
            email=f"{username}@localhost" if is_bot else f"{username}@example.com",
            first_name=first_name,
            last_name=last_name,
            nickname=nickname,
            is_bot=is_bot,
            bot_description=bot_description,
        )
        if notify_props:
            user.notify_props.update(notify_props)
        self.users[user.id] = user
        self.statuses[user.id] = "offline"
        return user

    def issue_token(self, user: User) -> str:
        token = new_id()
        self.tokens[token] = user.id
        return token

    def revoke_token(self, token: str) -> None:
        self.tokens.pop(token, None)

    def user_for_token(self, token: str) -> User | None:
        user_id = self.tokens.get(token)
        return self.users.get(user_id) if user_id else None

    def user_by_username(self, username: str) -> User | None:
        username = username.lower()
        return next((u for u in self.users.values() if u.username == username), None)

    def get_user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise AppError("app.user.missing_account.const", 404)
        return user

    # teams

    def create_team(self, name: str, display_name: str = "") -> Team:
        team = Team(id=new_id(), name=name, display_name=display_name or name, create_at=self.clock())
        self.teams[team.id] = team
        self.team_members[team.id] = set()
        return team

    def add_team_member(self, team: Team, user: User) -> None:
        self.team_members[team.id].add(user.id)

    def teams_of(self, user_id: str) -> list[Team]:
        return [t for t in self.teams.values() if user_id in self.team_members[t.id]]

    def in_team(self, user_id: str, team_id: str) -> bool:
        return user_id in self.team_members.get(team_id, ())

    # channels

    def create_channel(
        self,
        team: Team,
        channel_type: str,
        name: str,
        display_name: str,
        members: Iterable[User],
        creator: User,
    ) -> Channel:
        if channel_type not in ("O", "P"):
            raise ValueError("team channels are O or P; use direct_channel / group_channel for D and G")
        channel = Channel(
            id=new_id(),
            type=channel_type,
            team_id=team.id,
            name=name,
            display_name=display_name or name,
            creator_id=creator.id,
            create_at=self.clock(),
        )
        self.channels[channel.id] = channel
        for user in (creator, *members):
            self.add_team_member(team, user)
            self.join(channel, user)
        return channel

    def join(self, channel: Channel, user: User) -> bool:
        """Adds a membership; False when the user already was a member."""
        if user.id in channel.members:
            return False
        channel.members[user.id] = Member(user.id, channel.id, self.clock())
        return True

    def direct_channel(self, a: User, b: User) -> tuple[Channel, bool]:
        """`GetOrCreateDirectChannel`; publishes `direct_added` when the channel is new."""
        name = direct_channel_name(a.id, b.id)
        existing = next((c for c in self.channels.values() if c.type == "D" and c.name == name), None)
        if existing is not None:
            return existing, False
        channel = Channel(
            id=new_id(),
            type="D",
            team_id="",
            name=name,
            display_name="",
            creator_id=a.id,
            create_at=self.clock(),
        )
        self.channels[channel.id] = channel
        self.join(channel, a)
        self.join(channel, b)
        event_data = {"creator_id": a.id, "teammate_id": b.id}
        self.publisher.publish(Event("direct_added", event_data, Broadcast(channel_id=channel.id)))
        return channel, True

    def group_channel(self, users: list[User], creator: User) -> tuple[Channel, bool]:
        """`CreateGroupChannel`: 3 to 8 members, named by the sha1 of their ids."""
        ids = sorted({u.id for u in users})
        if not 3 <= len(ids) <= 8:
            raise AppError("api.channel.create_group.bad_size.app_error", 400)
        name = group_channel_name(ids)
        existing = next((c for c in self.channels.values() if c.type == "G" and c.name == name), None)
        if existing is not None:
            return existing, False
        display = ", ".join(sorted(self.users[uid].username for uid in ids))
        channel = Channel(
            id=new_id(),
            type="G",
            team_id="",
            name=name,
            display_name=display,
            creator_id=creator.id,
            create_at=self.clock(),
        )
        self.channels[channel.id] = channel
        for uid in ids:
            self.join(channel, self.users[uid])
        data = {"teammate_ids": json.dumps(ids, separators=(",", ":"))}
        self.publisher.publish(Event("group_added", data, Broadcast(channel_id=channel.id)))
        return channel, True

    def get_channel(self, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise AppError("app.channel.get.existing.app_error", 404)
        return channel

    def channels_of(self, user_id: str, team_id: str | None) -> list[Channel]:
        """Channels the user belongs to; with a team, that team's channels plus DMs and GMs."""
        found = [
            c
            for c in self.channels.values()
            if user_id in c.members and c.delete_at == 0 and (team_id is None or c.team_id in (team_id, ""))
        ]
        return sorted(found, key=lambda c: (c.display_name, c.name))

    # permissions, as the default role scheme grants them

    def is_member(self, user_id: str, channel: Channel) -> bool:
        return user_id in channel.members

    def can_read(self, user_id: str, channel: Channel) -> bool:
        """read_channel_content as member, or read_public_channel as a member of the channel's team."""
        return user_id in channel.members or (channel.type == "O" and self.in_team(user_id, channel.team_id))

    def can_post(self, user_id: str, channel: Channel) -> bool:
        """create_post as member, or create_post_public in an open channel of one's team (api4/post.go)."""
        return self.can_read(user_id, channel)

    # statuses

    def set_status(self, user_id: str, status: str) -> None:
        """`SaveAndBroadcastStatus`: a change is told to the user's own connections only."""
        if self.statuses.get(user_id) == status:
            return
        self.statuses[user_id] = status
        data = {"status": status, "user_id": user_id}
        self.publisher.publish(Event("status_change", data, Broadcast(user_id=user_id)))

    def is_online(self, user_id: str) -> bool:
        return self.statuses.get(user_id) == "online"

    # typing

    def publish_typing(self, user_id: str, channel: Channel, parent_id: str) -> None:
        """`PublishUserTyping`: to the channel, minus the typer."""
        data = {"parent_id": parent_id, "user_id": user_id}
        broadcast = Broadcast(channel_id=channel.id, omit_users=frozenset({user_id}))
        self.publisher.publish(Event("typing", data, broadcast))
