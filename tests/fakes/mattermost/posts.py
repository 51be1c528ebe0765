"""Posts: the one create path REST and tests share, edits, threads, listings and reactions (app/post.go)."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from .errors import AppError, forbidden
from .events import Broadcast, Event, Publisher
from .files import FileStore
from .ids import is_valid_id, new_id
from .model import Channel, Post, Reaction, User
from .notifications import compute_recipients
from .state import Directory

MAX_MESSAGE_RUNES = 16383  # model.PostMessageMaxRunesV2
MAX_FILE_IDS_RUNES = 300  # model.PostFileidsMaxRunes, measured on the JSON array
_EMOJI_NAME = re.compile(r"^[a-zA-Z0-9\-+_]+$")
_HASHTAG = re.compile(r"^#[^\W\d_][\w\-.]*[^\W_]$")
_PUNCT_START = re.compile(r"^(?:[^\w\s#]|_)+")
_PUNCT_END = re.compile(r"(?:[^\w\s]|_)+$")

PostWatcher = tuple[Callable[[Post], bool], "asyncio.Future[Post]"]


def parse_hashtags(message: str) -> str:
    """`model.ParseHashtags`, hashtag half."""
    tags = []
    for word in message.split():
        word = _PUNCT_END.sub("", _PUNCT_START.sub("", word))
        word = re.sub(r"^#{2,}", "#", word)
        if _HASHTAG.match(word):
            tags.append(word)
    joined = " ".join(tags)
    return joined if len(joined) <= 1000 else joined[:999].rsplit(" ", 1)[0]


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class PostStore:
    def __init__(
        self,
        directory: Directory,
        files: FileStore,
        publisher: Publisher,
        *,
        collapsed_threads: bool = True,
        pending_post_ttl_ms: int = 30_000,
    ) -> None:
        self.directory = directory
        self.files = files
        self.publisher = publisher
        self.collapsed_threads = collapsed_threads
        self.pending_post_ttl_ms = pending_post_ttl_ms
        self.posts: dict[str, Post] = {}
        self.by_channel: dict[str, list[str]] = defaultdict(list)
        self.thread_following: dict[str, dict[str, bool]] = defaultdict(dict)
        self.reactions: dict[str, dict[tuple[str, str], Reaction]] = defaultdict(dict)
        self._replies: dict[str, int] = defaultdict(int)
        self._pending: dict[str, tuple[str, int]] = {}
        self._last_stamp = 0
        self._watchers: list[PostWatcher] = []

    def _stamp(self) -> int:
        """The clock, but strictly increasing: two changes never share a millisecond, so `since` cursors
        and create_at ordering are deterministic (a busy real server can produce ties)."""
        self._last_stamp = max(self.directory.clock(), self._last_stamp + 1)
        return self._last_stamp

    # wire form

    def reply_count(self, post: Post) -> int:
        """Live replies in the post's thread, as the store's ReplyCount subquery counts them."""
        return self._replies.get(post.root_id or post.id, 0)

    def wire(self, post: Post, *, pending_post_id: str = "") -> dict[str, Any]:
        """Post JSON as v9.11 sends it: file_ids and has_reactions omitted when empty.

        `pending_post_id` is echoed only by the post's creation (the response and the `posted` event):
        the Posts table has no such column (sqlstore postSliceColumns), so every read has it empty.
        """
        out: dict[str, Any] = {
            "id": post.id,
            "create_at": post.create_at,
            "update_at": post.update_at,
            "edit_at": post.edit_at,
            "delete_at": post.delete_at,
            "is_pinned": post.is_pinned,
            "user_id": post.user_id,
            "channel_id": post.channel_id,
            "root_id": post.root_id,
            "original_id": post.original_id,
            "message": post.message,
            "type": post.type,
            "props": copy.deepcopy(post.props),
            "hashtags": post.hashtags,
        }
        if post.file_ids:
            out["file_ids"] = list(post.file_ids)
        out["pending_post_id"] = pending_post_id
        if post.has_reactions:
            out["has_reactions"] = True
        out |= {"reply_count": self.reply_count(post), "last_reply_at": 0, "participants": None}
        metadata: dict[str, Any] = {}
        if post.file_ids:
            metadata["files"] = [
                self.files.files[f].to_json() for f in post.file_ids if f in self.files.files
            ]
        if reactions := self.reactions.get(post.id):
            metadata["reactions"] = [r.to_json() for r in reactions.values()]
        out["metadata"] = metadata
        return out

    # creating

    def create(self, author: User, channel_id: str, message: str, **options: Any) -> Post:
        return self.submit(author, channel_id, message, **options)[0]

    def submit(
        self,
        author: User,
        channel_id: str,
        message: str,
        *,
        root_id: str = "",
        file_ids: Iterable[str] = (),
        props: dict[str, Any] | None = None,
        pending_post_id: str = "",
        set_online: bool = True,
        post_type: str = "",
    ) -> tuple[Post, str]:
        """`createPost` → `CreatePostAsUser` → `CreatePost`: the post, and the `pending_post_id` its
        response echoes. A deduplicated retry gets the first post as read back from the store, without it."""
        file_ids = list(file_ids)
        channel = self.directory.channels.get(channel_id)
        if channel is None or not self.directory.can_post(author.id, channel):
            raise forbidden()
        if file_ids and not self.directory.is_member(author.id, channel):
            raise forbidden()
        if channel.delete_at:
            raise AppError("api.post.create_post.can_not_post_to_deleted.error", 400)
        if pending_post_id and (found := self._deduplicate(author, pending_post_id)) is not None:
            return found, ""
        root = self._check_root(root_id, channel_id) if root_id else None
        if len(message) > MAX_MESSAGE_RUNES:
            raise AppError("model.post.is_valid.msg.app_error", 400)
        if len(_json(file_ids)) > MAX_FILE_IDS_RUNES:
            raise AppError("model.post.is_valid.file_ids.app_error", 400)
        post = self._insert(author, channel, root, message, root_id, props, post_type)
        post.file_ids = self.files.attach(author, post.id, channel_id, file_ids)
        if pending_post_id:
            self._pending[pending_post_id] = (post.id, post.create_at + self.pending_post_ttl_ms)
        self._publish_posted(post, channel, author, set_online, pending_post_id)
        if set_online:
            self.directory.set_status(author.id, "online")
        self._notify(post)
        return post, pending_post_id

    def store_system_post(
        self, author: User, channel: Channel, message: str, post_type: str, props: dict[str, Any]
    ) -> Post:
        """App-level `CreatePost` for system messages: no API permission checks, no status change."""
        post = self._insert(author, channel, None, message, "", props, post_type)
        self._publish_posted(post, channel, author, True)
        self._notify(post)
        return post

    def forget_pending(self) -> None:
        """The pending post id cache lives in memory: a restart empties it."""
        self._pending.clear()

    def _insert(
        self,
        author: User,
        channel: Channel,
        root: Post | None,
        message: str,
        root_id: str,
        props: dict[str, Any] | None,
        post_type: str,
    ) -> Post:
        props = dict(props or {})
        if author.is_bot:
            props["from_bot"] = "true"
        now = self._stamp()
        post = Post(
            id=new_id(),
            channel_id=channel.id,
            user_id=author.id,
            message=message,
            create_at=now,
            update_at=now,
            root_id=root_id,
            type=post_type,
            props=props,
            hashtags=parse_hashtags(message),
        )
        self._save(post, channel, root)
        return post

    def _deduplicate(self, author: User, pending_post_id: str) -> Post | None:
        """`deduplicateCreatePost`: within the TTL the first post returns, unless the caller cannot see it."""
        entry = self._pending.get(pending_post_id)
        if entry is None or entry[1] < self.directory.clock():
            return None
        found = self.posts[entry[0]]
        if found.delete_at:
            raise AppError("api.post.deduplicate_create_post.failed_to_get", 500)
        channel = self.directory.channels[found.channel_id]
        return found if self.directory.can_read(author.id, channel) else None

    def _check_root(self, root_id: str, channel_id: str) -> Post:
        root = self.posts.get(root_id)
        if root is None or root.delete_at:
            raise AppError("api.post.create_post.root_id.app_error", 400)
        if root.channel_id != channel_id:
            # 500 in app.CreatePost; CreatePostAsUser rewrites it to 400 for REST callers.
            raise AppError("api.post.create_post.channel_root_id.app_error", 400)
        if root.root_id:
            raise AppError("api.post.create_post.root_id.app_error", 400)
        return root

    def _save(self, post: Post, channel: Channel, root: Post | None) -> None:
        """`SqlPostStore.SaveMultiple`: a reply also bumps its root's update_at."""
        self.posts[post.id] = post
        self.by_channel[channel.id].append(post.id)
        channel.last_post_at = max(channel.last_post_at, post.create_at)
        channel.total_msg_count += 1
        if root is not None:
            root.update_at = max(root.update_at, post.create_at)
            self._replies[root.id] += 1
        else:
            channel.last_root_post_at = max(channel.last_root_post_at, post.create_at)
            channel.total_msg_count_root += 1

    def _publish_posted(
        self, post: Post, channel: Channel, author: User, set_online: bool, pending_post_id: str = ""
    ) -> None:
        """`SendNotifications`: one `posted` event, `mentions`/`followers` added per receiving connection."""
        mentions, followers = compute_recipients(self, post, channel)
        members = [self.directory.users[uid] for uid in channel.members]
        if channel.type == "D":
            display_name = "@" + author.username
        elif channel.type == "G":
            display_name = ", ".join(sorted(u.username for u in members))
        else:
            display_name = channel.display_name
        data: dict[str, Any] = {
            "channel_display_name": display_name,
            "channel_name": channel.name,
            "channel_type": channel.type,
            "post": _json(self.wire(post, pending_post_id=pending_post_id)),
            "sender_name": "System" if post.is_system else "@" + author.username,
            "set_online": set_online,
            "team_id": channel.team_id,
        }
        if post.file_ids:
            data["otherFile"] = "true"
            if any(self.files.files[f].is_image for f in post.file_ids):
                data["image"] = "true"
        self.publisher.publish(
            Event("posted", data, Broadcast(channel_id=channel.id), frozenset(mentions), frozenset(followers))
        )

    # reading

    def readable(self, reader: User, post_id: str) -> Post:
        """`GetPostIfAuthorized`: 404 for unknown or deleted posts, 403 without read access."""
        post = self.posts.get(post_id)
        if post is None or post.delete_at:
            raise AppError("app.post.get.app_error", 404)
        if not self.directory.can_read(reader.id, self.directory.channels[post.channel_id]):
            raise forbidden()
        return post

    # editing

    def patch(self, editor: User, post_id: str, patch: dict[str, Any]) -> Post:
        """`patchPost` → `PatchPost` → `UpdatePost`: the old version is kept as a deleted history row."""
        post = self.posts.get(post_id)
        if post is None or post.delete_at or post.user_id != editor.id:
            # Unknown post: SetPermissionError, not 404. Others' posts need edit_others_posts (admins only).
            raise forbidden()
        channel = self.directory.channels[post.channel_id]
        if not self.directory.is_member(editor.id, channel):
            raise forbidden()
        if post.is_system:
            raise AppError("api.post.update_post.system_message.app_error", 400)
        message = patch.get("message")
        if message is not None and len(message) > MAX_MESSAGE_RUNES:
            raise AppError("model.post.is_valid.msg.app_error", 400)
        old = copy.deepcopy(post)
        now = self._stamp()
        if message is not None and message != post.message:
            post.message = message
            post.edit_at = now
            post.hashtags = parse_hashtags(message)
        if patch.get("is_pinned") is not None:
            post.is_pinned = patch["is_pinned"]
        if patch.get("has_reactions") is not None:
            post.has_reactions = patch["has_reactions"]
        if patch.get("props") is not None:
            post.props = dict(patch["props"])
        post.update_at = now
        history = copy.deepcopy(old)
        history.id, history.original_id = new_id(), old.id
        history.delete_at = history.update_at = now
        self.posts[history.id] = history
        self.by_channel[channel.id].append(history.id)
        if post.root_id and (root := self.posts.get(post.root_id)) is not None:
            root.update_at = max(root.update_at, now)
        data = {"post": _json(self.wire(post))}
        self.publisher.publish(Event("post_edited", data, Broadcast(channel_id=channel.id)))
        self._notify(post)
        return post

    def delete(self, deleter: User, post_id: str) -> Post:
        """`deletePost`: own posts only (delete_others_posts is for admins); publishes `post_deleted`."""
        post = self.posts.get(post_id)
        if post is None or post.delete_at:
            raise AppError("app.post.get.app_error", 404)
        channel = self.directory.channels[post.channel_id]
        if post.user_id != deleter.id or not self.directory.is_member(deleter.id, channel):
            raise forbidden()
        now = self._stamp()
        post.delete_at = post.update_at = now
        if post.root_id:
            self._replies[post.root_id] -= 1
        else:
            # SqlPostStore.Delete removes the whole thread with its root.
            for reply_id in self.by_channel[channel.id]:
                reply = self.posts[reply_id]
                if reply.root_id == post.id and not reply.delete_at:
                    reply.delete_at = reply.update_at = now
            self._replies[post.id] = 0
        data = {"post": _json(self.wire(post))}
        self.publisher.publish(Event("post_deleted", data, Broadcast(channel_id=channel.id)))
        return post

    # reactions

    def react(self, reactor: User, user_id: Any, post_id: Any, emoji_name: Any) -> Reaction:
        """`saveReaction` → `SaveReactionForPost`; answered 200, and the post's update_at moves."""
        valid_name = isinstance(emoji_name, str) and 0 < len(emoji_name) <= 64
        if not (is_valid_id(user_id) and is_valid_id(post_id) and valid_name):
            raise AppError("api.context.invalid_body_param.app_error", 400, Name="reaction")
        if user_id != reactor.id:
            raise AppError("api.reaction.save_reaction.user_id.app_error", 403)
        post = self.posts.get(post_id)
        channel = self.directory.channels.get(post.channel_id) if post else None
        if (
            post is None
            or post.delete_at
            or channel is None
            or not self.directory.is_member(reactor.id, channel)
        ):
            raise forbidden()
        if not _EMOJI_NAME.match(emoji_name):
            raise AppError("model.reaction.is_valid.emoji_name.app_error", 400)
        now = self._stamp()
        reaction = Reaction(reactor.id, post.id, emoji_name, channel.id, now)
        self.reactions[post.id][(reactor.id, emoji_name)] = reaction
        post.has_reactions = True
        post.update_at = now
        data = {"reaction": _json(reaction.to_json())}
        self.publisher.publish(Event("reaction_added", data, Broadcast(channel_id=channel.id)))
        return reaction

    def unreact(self, reactor: User, user_id: str, post_id: str, emoji_name: str) -> None:
        if user_id != reactor.id:
            raise forbidden()
        post = self.posts.get(post_id)
        channel = self.directory.channels.get(post.channel_id) if post else None
        if post is None or channel is None or not self.directory.is_member(reactor.id, channel):
            raise forbidden()
        reaction = self.reactions[post.id].pop((user_id, emoji_name), None)
        if reaction is None:
            return
        post.has_reactions = bool(self.reactions[post.id])
        post.update_at = self._stamp()
        data = {"reaction": _json(reaction.to_json())}
        self.publisher.publish(Event("reaction_removed", data, Broadcast(channel_id=channel.id)))

    # waiting

    def wait_for(self, predicate: Callable[[Post], bool]) -> asyncio.Future[Post]:
        future: asyncio.Future[Post] = asyncio.get_running_loop().create_future()
        for post in self.posts.values():
            if post.delete_at == 0 and predicate(post):
                future.set_result(post)
                return future
        self._watchers.append((predicate, future))
        return future

    def _notify(self, post: Post) -> None:
        still_waiting = []
        for predicate, future in self._watchers:
            if future.done():
                continue
            if predicate(post):
                future.set_result(post)
            else:
                still_waiting.append((predicate, future))
        self._watchers = still_waiting
