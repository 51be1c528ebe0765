"""Who a new post mentions and which thread followers hear of it (app/notification.go SendNotifications)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .mentions import Keywords, add_user_keywords, explicit_mentions
from .model import Channel, Post, User

if TYPE_CHECKING:
    from .posts import PostStore

# TeamSettings.MaxNotificationsPerChannel default: above it @channel/@all/@here are off.
MAX_NOTIFICATIONS_PER_CHANNEL = 1000
_NO_CHANNEL_MENTION_TYPES = frozenset({"system_header_change", "system_purpose_change"})


def _mention_fields(post: Post) -> list[str]:
    """`getMentionsEnabledFields`: the message, then attachment pretext, text and string field values."""
    fields = [post.message]
    attachments = post.props.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        if not isinstance(attachment, dict):
            continue
        fields += [
            attachment[k] for k in ("pretext", "text") if isinstance(attachment.get(k), str) and attachment[k]
        ]
        for item in attachment.get("fields") or []:
            if isinstance(item, dict) and isinstance(item.get("value"), str) and item["value"]:
                fields.append(item["value"])
    return fields


def _channel_keywords(store: PostStore, post: Post, channel: Channel, members: dict[str, User]) -> Keywords:
    directory = store.directory
    allow_channel_mentions = (
        post.user_id in channel.members
        and post.type not in _NO_CHANNEL_MENTION_TYPES
        and len(members) < MAX_NOTIFICATIONS_PER_CHANNEL
    )
    keywords: Keywords = {}
    for user in members.values():
        member_props = channel.members[user.id].notify_props
        add_user_keywords(keywords, user, member_props, directory.is_online(user.id), allow_channel_mentions)
    return keywords


def _explicit(
    store: PostStore, post: Post, channel: Channel, members: dict[str, User]
) -> tuple[set[str], Keywords]:
    """`getExplicitMentionsAndKeywords`."""
    from_webhook = post.props.get("from_webhook") == "true"
    if channel.type == "D":
        first, _, second = channel.name.partition("__")
        mentioned = {
            uid for uid in (first, second) if uid and uid in members and (uid != post.user_id or from_webhook)
        }
        return mentioned, {}
    keywords = _channel_keywords(store, post, channel, members)
    mentioned = explicit_mentions(_mention_fields(post), keywords)
    if channel.type == "G":
        mentioned |= set(members)
    added = post.props.get("addedUserId")
    if post.type == "system_add_to_channel" and isinstance(added, str) and added in members:
        mentioned.add(added)
    if post.root_id and not store.collapsed_threads:
        mentioned |= _comment_mentions(store, post, members)
    if not from_webhook:
        mentioned.discard(post.user_id)
    return mentioned, keywords


def _comment_mentions(store: PostStore, post: Post, members: dict[str, User]) -> set[str]:
    """Without collapsed threads, `comments` = any (or root, for the root's author) mentions on replies."""
    found = set()
    for other in store.posts.values():
        if other.delete_at or post.root_id not in (other.id, other.root_id) or other.user_id not in members:
            continue
        setting = members[other.user_id].notify_props.get("comments")
        if setting == "any" or (setting == "root" and other.id == post.root_id):
            found.add(other.user_id)
    return found


def _wants_thread_desktop(user: User, mentioned: bool) -> bool:
    """`shouldUserNotifyCRT`, desktop half."""
    desktop = user.notify_props.get("desktop")
    return desktop in ("all", "mention") and (user.notify_props.get("desktop_threads") == "all" or mentioned)


def _followers(
    store: PostStore,
    post: Post,
    channel: Channel,
    members: dict[str, User],
    mentioned: set[str],
    keywords: Keywords,
) -> set[str]:
    """ThreadAutoFollow: participants follow the thread; followers but the author get `followers`."""
    following = store.thread_following[post.root_id]
    root = store.posts.get(post.root_id)
    participants = {post.user_id} | mentioned
    if root is not None and root.props.get("from_webhook") != "true":
        participants.add(root.user_id)
    if root is not None and channel.type != "D":
        participants |= explicit_mentions(_mention_fields(root), keywords)
    if channel.type != "D":
        participants |= {
            uid
            for uid, member in channel.members.items()
            if member.notify_props.get("channel_auto_follow_threads") == "on" and not following.get(uid)
        }
    for uid in participants:
        if uid not in mentioned and following.get(uid) is False:
            continue
        following[uid] = True
    from_webhook = post.props.get("from_webhook") == "true"
    return {
        uid
        for uid, follows in following.items()
        if follows
        and uid in members
        and (uid != post.user_id or from_webhook)
        and _wants_thread_desktop(members[uid], uid in mentioned)
    }


def compute_recipients(store: PostStore, post: Post, channel: Channel) -> tuple[set[str], set[str]]:
    """(users mentioned, thread followers to tell) for a new post."""
    members = {uid: store.directory.users[uid] for uid in channel.members}
    mentioned, keywords = _explicit(store, post, channel, members)
    followers: set[str] = set()
    if post.root_id and store.collapsed_threads:
        followers = _followers(store, post, channel, members, mentioned, keywords)
    return mentioned, followers
