"""The Web API methods the adapter calls, each as in its reference page (see SERVICE-BEHAVIOUR.md)."""

from __future__ import annotations

import base64
from typing import Any

from .webapi import (
    UPDATE_LIMIT,
    Call,
    Handler,
    auth_test,
    check_blocks,
    flag,
    history_scope,
    json_arg,
    new_file,
    read_scope,
)
from .workspace import SlackError

EPHEMERAL_LIMIT = 40_000
HISTORY_MAX = 999


async def _auth_test(call: Call) -> dict[str, Any]:
    return auth_test(call)


async def _connections_open(call: Call) -> dict[str, Any]:
    socket = call.ws.socket
    ticket = socket.issue_ticket()
    base = call.ws.root_url.replace("http://", "ws://")
    return {"url": f"{base}link/?ticket={ticket}&app_id=A0EMULATE"}


async def _post_message(call: Call) -> dict[str, Any]:
    call.scope("chat:write")
    conv = call.ws.conversation(call.need("channel"), call.actor.id)
    text = call.args.get("text")
    blocks = check_blocks(call.args.get("blocks"))
    if not text and not blocks and not call.args.get("attachments"):
        raise SlackError("no_text")
    thread_ts = call.args.get("thread_ts") or None
    metadata = _metadata(call.args.get("metadata"))
    msg = await call.ws.post(
        call.actor, conv, str(text or ""), thread_ts=thread_ts, blocks=blocks, metadata=metadata
    )
    return {"channel": conv.id, "ts": msg.ts, "message": call.ws.message_json(msg)}


def _metadata(raw: Any) -> dict[str, Any] | None:
    """Message metadata: `{"event_type": str, "event_payload": object}`; anything else is refused."""
    if raw in (None, ""):
        return None
    value = json_arg(raw)
    if not isinstance(value, dict) or not isinstance(value.get("event_type"), str):
        raise SlackError("invalid_metadata_format")
    if not isinstance(value.get("event_payload"), dict):
        raise SlackError("invalid_metadata_schema")
    return {"event_type": value["event_type"], "event_payload": value["event_payload"]}


async def _update(call: Call) -> dict[str, Any]:
    call.scope("chat:write")
    conv = call.ws.conversation(call.need("channel"), call.actor.id)
    if conv.id != call.args.get("channel"):
        raise SlackError("channel_not_found")  # a user id is not a conversation here
    text = call.args.get("text")
    if text is not None and len(str(text)) > UPDATE_LIMIT:
        raise SlackError("msg_too_long")
    blocks = check_blocks(call.args.get("blocks"))
    msg = await call.ws.update(call.actor, conv, call.need("ts"), None if text is None else str(text), blocks)
    return {"channel": conv.id, "ts": msg.ts, "text": msg.text, "message": call.ws.message_json(msg)}


async def _post_ephemeral(call: Call) -> dict[str, Any]:
    call.scope("chat:write")
    conv = call.ws.conversation(call.need("channel"), call.actor.id)
    user = call.need("user")
    if user not in conv.members:
        raise SlackError("user_not_in_channel")
    text = str(call.args.get("text") or "")
    if len(text) > EPHEMERAL_LIMIT:
        raise SlackError("msg_too_long")
    if not text and not call.args.get("blocks"):
        raise SlackError("no_text")
    ts = call.ws.clock.next_ts()
    call.ws.ephemeral.append({"channel": conv.id, "user": user, "text": text, "ts": ts})
    return {"message_ts": ts}


async def _delete(call: Call) -> dict[str, Any]:
    call.scope("chat:write")
    conv = call.ws.conversation(call.need("channel"), call.actor.id)
    ts = call.need("ts")
    await call.ws.delete(call.actor, conv, ts)
    return {"channel": conv.id, "ts": ts}


async def _react(call: Call, add: bool) -> dict[str, Any]:
    call.scope("reactions:write")
    conv = call.ws.conversation(call.need("channel"), call.actor.id)
    name = call.need("name").strip(":")
    if not name or " " in name:
        raise SlackError("invalid_name")
    await call.ws.react(call.actor, conv, call.need("timestamp"), name, add=add)
    return {}


async def _reactions_add(call: Call) -> dict[str, Any]:
    return await _react(call, True)


async def _reactions_remove(call: Call) -> dict[str, Any]:
    return await _react(call, False)


def _page(items: list[Any], call: Call, default_limit: int) -> tuple[list[Any], dict[str, Any]]:
    limit = max(1, min(int(call.args.get("limit") or default_limit), HISTORY_MAX))
    cursor = str(call.args.get("cursor") or "")
    start = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
    page = items[start : start + limit]
    more = start + limit < len(items)
    meta = {"has_more": more}
    next_cursor = base64.b64encode(f"next:{start + limit}".encode()).decode() if more else ""
    meta["response_metadata"] = {"next_cursor": next_cursor}
    return page, meta


def _in_range(ts: str, call: Call) -> bool:
    oldest = call.args.get("oldest")
    latest = call.args.get("latest")
    inclusive = flag(call.args.get("inclusive"))
    value = float(ts)
    if oldest not in (None, "") and (value < float(oldest) or (value == float(oldest) and not inclusive)):
        return False
    return not (
        latest not in (None, "") and (value > float(latest) or (value == float(latest) and not inclusive))
    )


async def _history(call: Call) -> dict[str, Any]:
    conv = call.ws.conversation(call.need("channel"), call.actor.id)
    history_scope(call, conv.kind)
    if call.actor.id not in conv.members:
        raise SlackError("not_in_channel")
    newest_first = [m for m in reversed(conv.messages.values()) if not m.is_reply and _in_range(m.ts, call)]
    page, meta = _page(newest_first, call, 100)
    with_metadata = flag(call.args.get("include_all_metadata"))
    return {"messages": [call.ws.message_json(m, metadata=with_metadata) for m in page], **meta}


async def _replies(call: Call) -> dict[str, Any]:
    conv = call.ws.conversation(call.need("channel"), call.actor.id)
    history_scope(call, conv.kind)
    parent = conv.messages.get(call.need("ts"))
    if parent is None:
        raise SlackError("thread_not_found")
    if parent.is_reply:
        parent = conv.messages[parent.thread_ts or ""]
    thread = [parent] + [m for m in conv.messages.values() if m.is_reply and m.thread_ts == parent.ts]
    # The parent always comes first; the window applies to the replies.
    chosen = [parent] + [m for m in thread[1:] if _in_range(m.ts, call)]
    page, meta = _page(chosen, call, 1000)
    with_metadata = flag(call.args.get("include_all_metadata"))
    return {"messages": [call.ws.message_json(m, metadata=with_metadata) for m in page], **meta}


async def _info(call: Call) -> dict[str, Any]:
    conv = call.ws.conversation(call.need("channel"), call.actor.id)
    read_scope(call, conv.kind)
    return {"channel": conv.json()}


async def _users_conversations(call: Call) -> dict[str, Any]:
    kinds = {"public_channel": "channel", "private_channel": "group", "im": "im", "mpim": "mpim"}
    wanted = [kinds[t] for t in str(call.args.get("types") or "public_channel").split(",") if t in kinds]
    for kind in wanted:
        read_scope(call, kind)
    mine = [c for c in call.ws.conversations.values() if c.kind in wanted and call.actor.id in c.members]
    page, meta = _page(mine, call, 100)
    return {"channels": [c.json() for c in page], "response_metadata": meta["response_metadata"]}


async def _users_info(call: Call) -> dict[str, Any]:
    call.scope("users:read")
    user = call.ws.users.get(call.need("user"))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.json()}


async def _get_upload_url(call: Call) -> dict[str, Any]:
    call.scope("files:write")
    name = call.need("filename")
    try:
        length = int(call.args.get("length") or 0)
    except ValueError:
        raise SlackError("invalid_arguments") from None
    if length <= 0:
        raise SlackError("invalid_arguments")
    file = new_file(call, name, length)
    return {"upload_url": f"{call.ws.root_url}upload/{file.id}", "file_id": file.id}


async def _complete_upload(call: Call) -> dict[str, Any]:
    call.scope("files:write")
    entries = json_arg(call.args.get("files"))
    if not isinstance(entries, list) or not entries:
        raise SlackError("invalid_arguments")
    files = []
    for entry in entries:
        file = call.ws.files.get(str(entry.get("id") if isinstance(entry, dict) else ""))
        if file is None or file.completed or not file.data:
            raise SlackError("file_not_found")
        file.title = str(entry.get("title") or file.name)
        files.append(file)
    channel = call.args.get("channel_id") or call.args.get("channels")
    for file in files:
        file.completed = True
    if channel:
        conv = call.ws.conversation(str(channel), call.actor.id)
        comment = str(call.args.get("initial_comment") or "")
        thread_ts = call.args.get("thread_ts") or None
        await call.ws.post(call.actor, conv, comment, thread_ts=thread_ts, files=[f.id for f in files])
    return {"files": [{"id": f.id, "title": f.title} for f in files]}


async def _files_info(call: Call) -> dict[str, Any]:
    call.scope("files:read")
    file = call.ws.files.get(call.need("file"))
    if file is None or not file.completed:
        raise SlackError("file_not_found")
    return {"file": file.json(call.ws.root_url)}


async def _set_status(call: Call) -> dict[str, Any]:
    # Needs the app's assistant feature, which the emulated app does not have (Hermes ignores the error).
    raise SlackError("not_allowed")


HANDLERS: dict[str, Handler] = {
    "auth.test": _auth_test,
    "apps.connections.open": _connections_open,
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "chat.postEphemeral": _post_ephemeral,
    "chat.delete": _delete,
    "reactions.add": _reactions_add,
    "reactions.remove": _reactions_remove,
    "conversations.history": _history,
    "conversations.replies": _replies,
    "conversations.info": _info,
    "users.conversations": _users_conversations,
    "users.info": _users_info,
    "files.getUploadURLExternal": _get_upload_url,
    "files.completeUploadExternal": _complete_upload,
    "files.info": _files_info,
    "assistant.threads.setStatus": _set_status,
}
