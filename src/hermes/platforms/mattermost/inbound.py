"""A Mattermost post, live from the WebSocket or read back by catch-up, turned into the hub's `Inbound`."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hermes.platforms.base import Attachment, ChatKind, ChatRef, Inbound
from hermes.platforms.mattermost.addressing import BotIdentity, Policy, Situation, decide, strip_mention
from hermes.platforms.mattermost.files import FileFetcher, describe
from hermes.platforms.mattermost.rest import MattermostError, RestClient

log = logging.getLogger(__name__)

PLATFORM = "mattermost"
_KINDS: dict[str, ChatKind] = {"D": "dm", "G": "group", "O": "channel", "P": "channel"}
_CACHE_SIZE = 4096


@dataclass(frozen=True)
class PostContext:
    """What comes with a post besides the post itself."""

    channel_type: str
    channel_name: str = ""
    sender_name: str | None = None
    # From the `posted` event's per-receiver hooks; None when the post was read back through REST.
    server_mentioned: bool | None = None
    bot_follows_thread: bool = False


def ids_in(raw: object) -> frozenset[str]:
    """`mentions` / `followers`: a JSON string holding a list of user ids."""
    if not isinstance(raw, str):
        return frozenset()
    try:
        value = json.loads(raw)
    except ValueError:
        return frozenset()
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()


def parse_posted(data: dict[str, Any], bot_id: str) -> tuple[dict[str, Any], PostContext] | None:
    """The post and its context from a `posted` event's data; None when the event is malformed."""
    try:
        post = json.loads(data["post"])
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(post, dict) or not isinstance(post.get("id"), str) or not post.get("channel_id"):
        return None
    sender = data.get("sender_name")
    context = PostContext(
        channel_type=str(data.get("channel_type") or "O"),
        channel_name=str(data.get("channel_name") or ""),
        sender_name=sender[1:] if isinstance(sender, str) and sender.startswith("@") else None,
        server_mentioned=bot_id in ids_in(data.get("mentions")),
        bot_follows_thread=bot_id in ids_in(data.get("followers")),
    )
    return post, context


def ignored(post: dict[str, Any], bot_id: str) -> str | None:
    """Why a post never reaches the hub: the bot's own, a system message, or deleted."""
    if post.get("user_id") == bot_id:
        return "own post"
    if post.get("type"):
        return "system post"
    if post.get("delete_at"):
        return "deleted"
    return None


def from_bot(post: dict[str, Any]) -> bool:
    props = found if isinstance(found := post.get("props"), dict) else {}
    return props.get("from_bot") == "true" or props.get("from_webhook") == "true"


class _Bounded(OrderedDict[str, Any]):
    def remember(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > _CACHE_SIZE:
            self.popitem(last=False)


class ThreadBook:
    """Which threads the bot takes part in: from its own posts, the server's `followers` hook, and, when
    neither tells, the thread itself read once."""

    def __init__(self, rest: RestClient, bot_id: str) -> None:
        self.rest = rest
        self.bot_id = bot_id
        self._known: _Bounded = _Bounded()

    def joined(self, root_id: str) -> None:
        self._known.remember(root_id, True)

    def note_own(self, post: dict[str, Any]) -> None:
        self.joined(str(post.get("root_id") or post.get("id")))

    async def bot_in(self, root_id: str) -> bool:
        known = self._known.get(root_id)
        if known is not None:
            return bool(known)
        try:
            thread = await self.rest.thread(root_id)
        except MattermostError as exc:
            log.debug("mattermost: could not read thread %s: %s", root_id, exc)
            return False
        posts = thread.get("posts") if isinstance(thread, dict) else None
        inside = isinstance(posts, dict) and any(
            isinstance(p, dict) and p.get("user_id") == self.bot_id for p in posts.values()
        )
        self._known.remember(root_id, inside)
        return inside


class UserNames:
    """Usernames by id, for posts read back without the event's `sender_name`."""

    def __init__(self, rest: RestClient) -> None:
        self.rest = rest
        self._names: _Bounded = _Bounded()

    def learn(self, user_id: str, username: str) -> None:
        self._names.remember(user_id, username)

    async def name_of(self, user_id: str) -> str:
        name = self._names.get(user_id)
        if name is None:
            try:
                user = await self.rest.user(user_id)
                name = str(user.get("username") or user_id)
            except MattermostError:
                return user_id
            self.learn(user_id, name)
        return str(name)


class InboundBuilder:
    def __init__(
        self,
        rest: RestClient,
        bot: BotIdentity,
        policy: Policy,
        files: FileFetcher,
        threads: ThreadBook,
        is_allowed: Callable[[str], bool],
        is_command: Callable[..., bool],
    ) -> None:
        self.is_allowed = is_allowed
        self.is_command = is_command
        self.bot = bot
        self.policy = policy
        self.files = files
        self.threads = threads
        self.users = UserNames(rest)

    async def build(self, post: dict[str, Any], context: PostContext) -> Inbound:
        post_id = str(post["id"])
        channel_id = str(post.get("channel_id") or "")
        user_id = str(post.get("user_id") or "")
        root_id = str(post.get("root_id") or "")
        message = str(post.get("message") or "")
        if context.bot_follows_thread and root_id:
            self.threads.joined(root_id)
        stripped = strip_mention(message, self.bot)
        situation = Situation(
            post_id=post_id,
            channel_id=channel_id,
            channel_name=context.channel_name,
            channel_type=context.channel_type,
            root_id=root_id,
            text=message,
            server_mentioned=context.server_mentioned,
            is_command=self.is_command(message),
            is_bare_command=self.is_command(stripped, bare=True),
        )
        verdict = decide(situation, self.bot, self.policy)
        if not verdict.addressed and root_id and context.channel_type != "D":
            in_thread = await self.threads.bot_in(root_id)
            verdict = decide(replace(situation, bot_in_thread=in_thread), self.bot, self.policy)
        text = stripped if verdict.mentioned else message.strip()
        attachments: tuple[Attachment, ...] = ()
        # Files are fetched for people the bot answers only: a stranger cannot fill its disk.
        if verdict.addressed and post.get("file_ids") and self.is_allowed(user_id):
            received = await self.files.fetch(post)
            attachments = received.attachments
            extra = [describe(a) for a in attachments if not a.mime_type.startswith("image/")]
            extra += received.notes
            if not text and attachments and not extra:
                text = " ".join(f"[image {a.filename}]" for a in attachments)
            text = "\n\n".join(part for part in (text, *extra) if part)
        if context.sender_name:
            self.users.learn(user_id, context.sender_name)
            sender_name = context.sender_name
        elif verdict.addressed:
            sender_name = await self.users.name_of(user_id)
        else:
            sender_name = user_id  # the hub passes over it: no lookup for a name nobody reads
        kind = _KINDS.get(context.channel_type, "channel")
        return Inbound(
            event_id=post_id,
            chat=ChatRef(PLATFORM, channel_id, kind, verdict.thread_id),
            sender_id=user_id,
            sender_name=sender_name,
            text=text,
            addressed=verdict.addressed,
            sent_at=_int(post.get("create_at")) / 1000.0,
            attachments=attachments,
            sender_is_bot=from_bot(post),
        )


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
