"""Post lists: threads and channel history, newest first (app/post.go GetPostThread, getPostsForChannel)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import forbidden
from .model import Channel, Post, User
from .posts import PostStore


def thread(store: PostStore, reader: User, post_id: str) -> dict[str, Any]:
    """`GetPostThread`: the requested post first, then the rest of the thread in store order."""
    post = store.readable(reader, post_id)
    root_id = post.root_id or post.id
    members = [
        p
        for pid in store.by_channel[post.channel_id]
        if (p := store.posts[pid]).delete_at == 0 and root_id in (p.id, p.root_id)
    ]
    order = [post.id] + [p.id for p in members if p.id != post.id]
    return _post_list(store, order, members)


def channel_page(
    store: PostStore,
    reader: User,
    channel: Channel,
    *,
    since: int,
    before: str,
    after: str,
    page: int,
    per_page: int,
) -> dict[str, Any]:
    """`getPostsForChannel`: since, else after, else before, else a plain page; newest first."""
    if not store.directory.can_read(reader.id, channel):
        raise forbidden()
    stored = [store.posts[pid] for pid in store.by_channel[channel.id]]
    live = sorted((p for p in stored if p.delete_at == 0), key=lambda p: p.create_at, reverse=True)
    if since > 0:
        changed = sorted((p for p in stored if p.update_at > since), key=lambda p: -p.create_at)[:1000]
        roots = [store.posts[p.root_id] for p in changed if p.root_id in store.posts]
        return _post_list(store, [p.id for p in changed], changed + roots)
    if after or before:
        anchor = store.posts.get(after or before)
        if anchor is None or anchor.channel_id != channel.id:
            selected: list[Post] = []
        elif after:
            newer = sorted((p for p in live if p.create_at > anchor.create_at), key=lambda p: p.create_at)
            selected = newer[page * per_page : (page + 1) * per_page][::-1]
        else:
            older = [p for p in live if p.create_at < anchor.create_at]
            selected = older[page * per_page : (page + 1) * per_page]
    else:
        selected = live[page * per_page : (page + 1) * per_page]
    threads = {p.root_id for p in selected if p.root_id}
    related = [p for p in live if p.id in threads or p.root_id in threads]
    listing = _post_list(store, [p.id for p in selected], selected + related)
    # `AddCursorIdsForPostList`: the anchor is the cursor on page 0, empty results stop the other way.
    next_id: str | None = None
    prev_id: str | None = None
    if after:
        prev_id = after if page == 0 else None
        next_id = "" if not selected else None
    elif before:
        next_id = before if page == 0 else None
        prev_id = "" if not selected else None
    if next_id is None:
        next_id = _neighbour(live, selected[0] if selected else None, newer=True)
    if prev_id is None:
        prev_id = _neighbour(live, selected[-1] if selected else None, newer=False)
    listing["next_post_id"], listing["prev_post_id"] = next_id, prev_id
    return listing


def _neighbour(live: list[Post], edge: Post | None, *, newer: bool) -> str:
    """`GetNextPostIdFromPostList` / `GetPrevPostIdFromPostList`."""
    if edge is None:
        return ""
    if newer:
        candidates = [p for p in live if p.create_at > edge.create_at]
        return min(candidates, key=lambda p: p.create_at).id if candidates else ""
    candidates = [p for p in live if p.create_at < edge.create_at]
    return max(candidates, key=lambda p: p.create_at).id if candidates else ""


def _post_list(store: PostStore, order: list[str], posts: Iterable[Post]) -> dict[str, Any]:
    return {
        "order": order,
        "posts": {p.id: store.wire(p) for p in posts},
        "next_post_id": "",
        "prev_post_id": "",
        "has_next": False,
        "first_inaccessible_post_time": 0,
    }
