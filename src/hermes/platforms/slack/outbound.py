"""What the bot says: replies rendered as mrkdwn, posted, edited while they stream, files uploaded, and
reactions.

`chat.postMessage` has no idempotency key, so each message carries its key in Slack's message metadata
(`hermes_reply`). A reply being redone after a crash (an event this process did not hear first) is looked
up before posting: a chunk the killed process already posted is found by its key and edited instead of
posted twice.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from hermes.platforms.base import Attachment, ChatRef, MessageRef
from hermes.platforms.slack.inbound import ThreadBook
from hermes.platforms.slack.render import MAX_BLOCKS, SECTION_LIMIT, Rendered, fit, pieces, render
from hermes.platforms.slack.web import SlackWeb, error_code

log = logging.getLogger(__name__)

METADATA_TYPE = "hermes_reply"
POST_LIMIT = 40_000
UPDATE_LIMIT = 4_000
_EVENT_ID = re.compile(r"^[A-Z0-9]+:\d+\.\d+$")
_GONE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
_KEPT = 512
_RESPONSE = "response:"
_APPROVAL = ":approval:"


def approval_blocks(rendered: Rendered) -> list[dict[str, Any]]:
    """An approval question with Approve / Deny buttons under it. The text still says how to answer in
    words, for clients (and workspaces) where the app's interactivity is off."""
    blocks = rendered.blocks or [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in pieces(rendered.text, SECTION_LIMIT)
    ]
    buttons = [
        ("hermes_approve", "Approve", "primary"),
        ("hermes_deny", "Deny", "danger"),
    ]
    elements = [
        {"type": "button", "action_id": action, "text": {"type": "plain_text", "text": label}, "style": style}
        for action, label, style in buttons
    ]
    return [
        *blocks[: MAX_BLOCKS - 1],
        {"type": "actions", "block_id": "hermes_approval", "elements": elements},
    ]


class Outbound:
    def __init__(self, web: SlackWeb, threads: ThreadBook, bot_user_id: str) -> None:
        self.web = web
        self.threads = threads
        self.bot_user_id = bot_user_id
        self.is_fresh: Callable[[str], bool] = lambda event_id: True
        self._posted: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._response_urls: dict[str, str] = {}
        # Where the bot's recent messages are, for reactions to them (an approval answered with ✅).
        self._chats: OrderedDict[tuple[str, str], ChatRef] = OrderedDict()

    def chat_of(self, channel: str, ts: str) -> ChatRef | None:
        return self._chats.get((channel, ts))

    def remember_response_url(self, channel: str, url: str) -> None:
        """A slash command's `response_url`: its answer's way out when the bot cannot post there."""
        self._response_urls[channel] = url

    async def send(self, chat: ChatRef, text: str, key: str, attachments: Sequence[Attachment]) -> MessageRef:
        if not text.strip() and attachments:
            text = "📎 " + ", ".join(a.filename for a in attachments)
        rendered = render(text)
        blocks = rendered.blocks
        if _APPROVAL in key:
            blocks = approval_blocks(rendered)
        event_id = key.rpartition(":")[0]
        existing = await self._posted_before(chat, event_id, key)
        if existing is not None:
            log.info("slack: %s was already posted before a restart; editing it instead", key)
            ref = MessageRef(chat, existing)
            await self.edit(ref, text)
        else:
            try:
                reply = await self.web.call(
                    "chat_postMessage",
                    channel=chat.chat_id,
                    text=fit(rendered.text, POST_LIMIT),
                    blocks=blocks,
                    thread_ts=chat.thread_id,
                    metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}},
                    unfurl_links=False,
                )
            except SlackApiError as exc:
                url = self._response_urls.get(chat.chat_id)
                if error_code(exc) not in _GONE or url is None:
                    raise
                return await self._respond(chat, url, rendered.text)
            ref = MessageRef(chat, str(reply["ts"]))
            self.threads.joined(chat.chat_id, chat.thread_id or ref.message_id)
            self._chats[(chat.chat_id, ref.message_id)] = chat
            while len(self._chats) > _KEPT:
                self._chats.popitem(last=False)
            if _EVENT_ID.match(event_id):
                self._posted.setdefault(event_id, {})[key] = ref.message_id
                self._trim()
        if attachments:
            await self._upload(chat, attachments)
        return ref

    async def edit(self, ref: MessageRef, text: str) -> None:
        if ref.message_id.startswith(_RESPONSE):
            return  # an answer through a response_url cannot be edited
        rendered = render(text)
        await self.web.call(
            "chat_update",
            channel=ref.chat.chat_id,
            ts=ref.message_id,
            text=fit(rendered.text, UPDATE_LIMIT),
            blocks=rendered.blocks or [],
        )

    async def react(self, channel: str, ts: str, name: str, *, add: bool) -> bool:
        try:
            await self.web.call(
                "reactions_add" if add else "reactions_remove", channel=channel, timestamp=ts, name=name
            )
            return True
        except SlackApiError as exc:
            code = error_code(exc)
            if code not in ("already_reacted", "no_reaction"):
                log.info("slack: could not %s :%s: (%s)", "add" if add else "remove", name, code)
            return False

    async def _posted_before(self, chat: ChatRef, event_id: str, key: str) -> str | None:
        if not _EVENT_ID.match(event_id) or self.is_fresh(event_id):
            return None
        known = self._posted.get(event_id)
        if known is None:
            known = await self._look_up(chat, event_id)
            self._posted[event_id] = known
            self._trim()
        return known.get(key)

    async def _look_up(self, chat: ChatRef, event_id: str) -> dict[str, str]:
        event_ts = event_id.partition(":")[2]
        args = {"channel": chat.chat_id, "oldest": event_ts, "include_all_metadata": True, "limit": 200}
        try:
            if chat.thread_id:
                page = await self.web.call("conversations_replies", ts=chat.thread_id, **args)
            else:
                page = await self.web.call("conversations_history", **args)
        except SlackApiError as exc:
            log.warning("slack: could not look for an earlier reply to %s (%s)", event_id, error_code(exc))
            return {}
        found = {}
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if message.get("user") == self.bot_user_id and metadata.get("event_type") == METADATA_TYPE:
                found[str(payload.get("key"))] = str(message["ts"])
        return found

    def _trim(self) -> None:
        while len(self._posted) > _KEPT:
            self._posted.popitem(last=False)

    async def _upload(self, chat: ChatRef, attachments: Sequence[Attachment]) -> None:
        uploads = [{"file": a.path, "filename": a.filename, "title": a.filename} for a in attachments]
        await self.web.call(
            "files_upload_v2", channel=chat.chat_id, thread_ts=chat.thread_id, file_uploads=uploads
        )

    async def _respond(self, chat: ChatRef, url: str, text: str) -> MessageRef:
        body = {"text": fit(text, POST_LIMIT), "response_type": "ephemeral", "replace_original": True}
        async with self.web.session.post(url, json=body) as resp:
            if resp.status != 200:
                raise aiohttp.ClientResponseError(
                    resp.request_info, (), status=resp.status, message="response_url"
                )
        return MessageRef(chat, f"{_RESPONSE}{url}")
