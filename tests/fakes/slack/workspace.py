"""One workspace with the app installed: its members, conversations, messages, files, and the events the
app hears about them. Every change (a human's post or the bot's) goes through the same methods here, and
every event comes from them: tests never hand-build an event.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .model import APP_ID, TEAM_ID, Clock, Conversation, File, Message, User, new_id
from .socket import SocketMode

POST_TRUNCATE = 40_000
DEFAULT_SCOPES = frozenset(
    {
        "app_mentions:read",
        "channels:history",
        "channels:read",
        "chat:write",
        "commands",
        "files:read",
        "files:write",
        "groups:history",
        "groups:read",
        "im:history",
        "im:read",
        "im:write",
        "mpim:history",
        "mpim:read",
        "reactions:read",
        "reactions:write",
        "users:read",
    }
)
HISTORY_SCOPE = {
    "channel": "channels:history",
    "group": "groups:history",
    "im": "im:history",
    "mpim": "mpim:history",
}
READ_SCOPE = {"channel": "channels:read", "group": "groups:read", "im": "im:read", "mpim": "mpim:read"}
EVENT_SUBSCRIPTION = {
    "channel": "message.channels",
    "group": "message.groups",
    "im": "message.im",
    "mpim": "message.mpim",
}
DEFAULT_SUBSCRIPTIONS = frozenset({*EVENT_SUBSCRIPTION.values(), "app_mention", "reaction_added"})


class SlackError(Exception):
    """A Web API failure: `{"ok": false, "error": code}` (HTTP 200), with extra fields if any."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass(frozen=True)
class Token:
    value: str
    kind: str  # "bot" | "user" | "app"
    user: str | None


class Workspace:
    def __init__(self, socket: SocketMode, bot_name: str = "hermes") -> None:
        self.socket = socket
        self.clock = Clock()
        self.users: dict[str, User] = {}
        self.conversations: dict[str, Conversation] = {}
        self.files: dict[str, File] = {}
        self.tokens: dict[str, Token] = {}
        self.scopes: set[str] = set(DEFAULT_SCOPES)
        self.subscriptions: set[str] = set(DEFAULT_SUBSCRIPTIONS)
        self.root_url = ""  # http://127.0.0.1:<port>/
        self.ephemeral: list[dict[str, Any]] = []
        bot_id = new_id("B")
        self.bot = self.add_user(bot_name, is_bot=True, bot_id=bot_id)
        self.bot_token = self._token("xoxb", "bot", self.bot.id)
        self.app_token = self._token("xapp", "app", None)
        self.events: list[dict[str, Any]] = []
        # Called with every new message, at once (benchmarks time replies with these, not by polling).
        self.watchers: list[Callable[[Message], None]] = []

    def _token(self, prefix: str, kind: str, user: str | None) -> str:
        value = f"{prefix}-{uuid.uuid4().hex[:12]}-{uuid.uuid4().hex}"
        self.tokens[value] = Token(value, kind, user)
        return value

    # -- directory -------------------------------------------------------------------------------------

    def add_user(self, name: str, *, is_bot: bool = False, bot_id: str | None = None) -> User:
        user = User(new_id("U"), name, name.title(), is_bot=is_bot, bot_id=bot_id)
        self.users[user.id] = user
        return user

    def user_token(self, user: User) -> str:
        return self._token("xoxp", "user", user.id)

    def add_channel(self, name: str, members: Iterable[User], *, private: bool = False) -> Conversation:
        kind = "group" if private else "channel"
        conv = Conversation(new_id("C"), name, kind, {u.id for u in members})
        self.conversations[conv.id] = conv
        return conv

    def dm(self, user: User) -> Conversation:
        """The app's DM with `user` (opened on first use, as Slack does for chat.postMessage to a user id)."""
        for conv in self.conversations.values():
            if conv.kind == "im" and conv.members == {user.id, self.bot.id}:
                return conv
        conv = Conversation(new_id("D"), user.id, "im", {user.id, self.bot.id})
        self.conversations[conv.id] = conv
        return conv

    def group_dm(self, *users: User) -> Conversation:
        ids = {u.id for u in users} | {self.bot.id}
        conv = Conversation(new_id("G"), "mpdm-" + "--".join(sorted(u.name for u in users)), "mpim", ids)
        self.conversations[conv.id] = conv
        return conv

    def conversation(self, channel: str, actor: str | None = None) -> Conversation:
        conv = self.conversations.get(channel)
        if conv is None and channel.startswith(("U", "W")) and channel in self.users:
            return self.dm(self.users[channel])
        if conv is None:
            raise SlackError("channel_not_found")
        if actor is not None and conv.kind != "channel" and actor not in conv.members:
            # Private conversations are invisible to non-members.
            raise SlackError("channel_not_found")
        return conv

    def message(self, conv: Conversation, ts: str) -> Message:
        msg = conv.messages.get(ts)
        if msg is None:
            raise SlackError("message_not_found")
        return msg

    # -- changes ---------------------------------------------------------------------------------------

    async def post(
        self,
        author: User,
        conv: Conversation,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        files: Iterable[str] = (),
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """The one path for a new message, a human's or the app's (chat.postMessage)."""
        if author.id not in conv.members:
            raise SlackError("not_in_channel")
        parent: Message | None = None
        if thread_ts is not None:
            parent = conv.messages.get(thread_ts)
            if parent is None:
                # Slack accepts an unknown thread_ts and posts to the channel (I: observed behaviour).
                thread_ts = None
            elif parent.is_reply:
                thread_ts = parent.thread_ts
                parent = conv.messages[thread_ts or ""]
        msg = Message(
            channel=conv.id,
            ts=self.clock.next_ts(),
            user=author.id,
            text=text[:POST_TRUNCATE],
            thread_ts=thread_ts,
            bot_id=author.bot_id,
            blocks=blocks,
            files=list(files),
            metadata=metadata,
        )
        if parent is not None:
            parent.thread_ts = parent.ts
            parent.replies.append(msg.ts)
        conv.messages[msg.ts] = msg
        for watcher in self.watchers:
            watcher(msg)
        await self._message_events(conv, msg)
        return msg

    async def update(
        self, actor: User, conv: Conversation, ts: str, text: str | None, blocks: Any
    ) -> Message:
        msg = self.message(conv, ts)
        if msg.user != actor.id:
            raise SlackError("cant_update_message")
        previous = self.message_json(msg)
        if text is not None:
            msg.text = text
        # Text without blocks removes the old blocks (chat.update reference).
        msg.blocks = blocks if blocks is not None else None
        msg.edited_ts = self.clock.next_ts()
        if self._hears(conv):
            event = {
                "type": "message",
                "subtype": "message_changed",
                "hidden": True,
                "channel": conv.id,
                "channel_type": conv.channel_type,
                "ts": msg.edited_ts,
                "event_ts": msg.edited_ts,
                "message": self.message_json(msg),
                "previous_message": previous,
            }
            await self._emit(event)
        return msg

    async def delete(self, actor: User, conv: Conversation, ts: str) -> None:
        msg = self.message(conv, ts)
        if msg.user != actor.id:
            raise SlackError("cant_delete_message")
        del conv.messages[ts]

    async def react(self, actor: User, conv: Conversation, ts: str, name: str, *, add: bool) -> None:
        msg = self.message(conv, ts)
        users = msg.reactions.setdefault(name, [])
        if add:
            if actor.id in users:
                raise SlackError("already_reacted")
            users.append(actor.id)
            if "reaction_added" in self.subscriptions and actor.id != self.bot.id:
                await self._emit(
                    {
                        "type": "reaction_added",
                        "user": actor.id,
                        "reaction": name,
                        "item_user": msg.user,
                        "item": {"type": "message", "channel": conv.id, "ts": ts},
                        "event_ts": self.clock.next_ts(),
                    }
                )
        else:
            if actor.id not in users:
                raise SlackError("no_reaction")
            users.remove(actor.id)
            if not users:
                del msg.reactions[name]

    # -- what the app hears ----------------------------------------------------------------------------

    def _hears(self, conv: Conversation) -> bool:
        return self.bot.id in conv.members and EVENT_SUBSCRIPTION[conv.kind] in self.subscriptions

    def message_json(self, msg: Message, *, metadata: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "user": msg.user,
            "text": msg.text,
            "ts": msg.ts,
            "team": TEAM_ID,
        }
        if msg.bot_id:
            out["bot_id"] = msg.bot_id
            out["app_id"] = APP_ID
            out["bot_profile"] = {
                "id": msg.bot_id,
                "app_id": APP_ID,
                "name": self.bot.name,
                "team_id": TEAM_ID,
            }
        if msg.thread_ts:
            out["thread_ts"] = msg.thread_ts
        if msg.replies:
            out["reply_count"] = len(msg.replies)
            out["latest_reply"] = msg.replies[-1]
        if msg.is_reply:
            conv = self.conversations[msg.channel]
            out["parent_user_id"] = conv.messages[msg.thread_ts or ""].user
        if msg.blocks is not None:
            out["blocks"] = msg.blocks
        if msg.files:
            out["files"] = [self.files[f].json(self.root_url) for f in msg.files]
            out["upload"] = False
        if msg.edited_ts:
            out["edited"] = {"user": msg.user, "ts": msg.edited_ts}
        if metadata and msg.metadata is not None:
            out["metadata"] = msg.metadata
        if msg.reactions:
            out["reactions"] = [{"name": n, "users": u, "count": len(u)} for n, u in msg.reactions.items()]
        return out

    async def _message_events(self, conv: Conversation, msg: Message) -> None:
        base = self.message_json(msg)
        base.pop("reply_count", None)
        base.pop("latest_reply", None)
        base["channel"] = conv.id
        base["event_ts"] = msg.ts
        if msg.files and not msg.bot_id:
            base["subtype"] = "file_share"
        if not msg.bot_id:
            base["client_msg_id"] = str(uuid.uuid4())
        if self._hears(conv):
            await self._emit({**base, "channel_type": conv.channel_type})
        mention = f"<@{self.bot.id}>"
        if (
            conv.kind != "im"
            and mention in msg.text
            and msg.user != self.bot.id
            and "app_mention" in self.subscriptions
            and self.bot.id in conv.members
        ):
            event = {k: v for k, v in base.items() if k not in ("subtype", "upload", "team")}
            await self._emit({**event, "type": "app_mention"})

    async def _emit(self, event: dict[str, Any]) -> None:
        payload = {
            "token": "emulated-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": new_id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": self.bot.id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + uuid.uuid4().hex,
        }
        self.events.append(payload)
        await self.socket.deliver("events_api", payload)
