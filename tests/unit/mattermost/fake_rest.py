"""The one fake of the Mattermost REST client for the unit tests: the calls the adapter's chat logic makes,
answered from in-memory channels, posts, threads and files the way the server answers them."""

from __future__ import annotations

from typing import Any

from hermes.platforms.mattermost.catchup import SINCE_LIMIT
from hermes.platforms.mattermost.rest import MattermostError


class FakeRest:
    def __init__(
        self,
        channels: list[dict[str, Any]] | None = None,
        posts: list[dict[str, Any]] | None = None,
        *,
        threads: dict[str, list[str]] | None = None,
    ) -> None:
        self.channels = channels or []
        self.posts = posts or []
        # Thread root id -> the user ids of the posts in that thread.
        self.threads = threads or {}
        self.calls: list[str] = []
        self.since_calls: list[tuple[str, int]] = []
        self.page_calls: list[tuple[str, int]] = []

    async def my_channels(self) -> list[dict[str, Any]]:
        return self.channels

    async def posts_since(self, channel_id: str, since: int) -> dict[str, Any]:
        self.since_calls.append((channel_id, since))
        changed = [p for p in self.posts if p["channel_id"] == channel_id and p["update_at"] > since]
        changed = sorted(changed, key=lambda p: -p["create_at"])[:SINCE_LIMIT]
        return {"order": [p["id"] for p in changed], "posts": {p["id"]: p for p in changed}}

    async def posts_page(self, channel_id: str, page: int, per_page: int) -> dict[str, Any]:
        self.page_calls.append((channel_id, page))
        live = [p for p in self.posts if p["channel_id"] == channel_id and not p["delete_at"]]
        live = sorted(live, key=lambda p: -p["create_at"])[page * per_page : (page + 1) * per_page]
        return {"order": [p["id"] for p in live], "posts": {p["id"]: p for p in live}}

    async def user(self, user_id: str) -> dict[str, Any]:
        self.calls.append(f"user {user_id}")
        if user_id == "gone":
            raise MattermostError(
                404, "app.user.missing_account.const", "Unable to find the user.", "GET", "/"
            )
        return {"id": user_id, "username": "alice"}

    async def thread(self, root_id: str) -> dict[str, Any]:
        self.calls.append(f"thread {root_id}")
        authors = self.threads.get(root_id, [])
        return {"order": [], "posts": {f"p{i}": {"user_id": a} for i, a in enumerate(authors)}}

    async def file_info(self, file_id: str) -> dict[str, Any]:
        self.calls.append(f"info {file_id}")
        return {"id": file_id, "name": "a.txt", "mime_type": "text/plain", "size": 3}

    async def file(self, file_id: str, limit: int) -> bytes:
        self.calls.append(f"file {file_id}")
        return b"abc"
