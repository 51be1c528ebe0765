"""A Mattermost server emulator for tests: REST API v4 and the WebSocket, in-process, on 127.0.0.1.

Ground truth is the Mattermost server source (v9.11), summarised in
`reference/mattermost/SERVER-BEHAVIOUR.md`; where openapi-v4.yaml disagrees the server wins and the
difference is listed in `KNOWN_DIFFERENCES`.

    async with MattermostEmulator() as mm:
        bot, token = mm.create_bot("agentbot")
        alice = mm.create_user("alice")
        team = mm.create_team("core", members=[bot, alice])
        town = mm.create_channel(team, "O", [alice, bot], name="town-square", display_name="Town Square")
        dm = mm.direct_channel(alice, bot)
        # point the client under test at mm.url / mm.ws_url with `token`
        await mm.post_as(alice, town, "@agentbot summarize this")
        reply = await mm.wait_for_post(lambda p: p.user_id == bot.id, timeout=5)

Where: `mm.url` (http://127.0.0.1:<port>), `mm.ws_url`, `mm.server_version()` (hello's server_version and
X-Version-Id). Every user gets a personal access token; bots also have `is_bot` and `props.from_bot` posts.

Setup (synchronous): `create_user(username, first_name=, last_name=, nickname=, notify_props=)`,
`create_bot(username, description=) -> (user, token)`, `token_for(user)`, `issue_token(user)` (another
token), `revoke_token(user)`,
`create_team(name, display_name=, members=)`, `create_channel(team, "O"|"P", members, name=, display_name=,
creator=)`, `direct_channel(a, b)`, `group_channel(*users)`, `add_member(channel, user, by=)` and
`remove_member(channel, user, by=)` (these publish user_added/user_removed and the system post the server
writes), `set_status(user, "online"|"away"|"dnd"|"offline")`.

Human actions go through the code the REST handlers use, never hand-built events:
`await post_as(user, channel, text, root_id=, file_ids=, props=, pending_post_id=) -> Post`,
`edit_as(user, post, message)`, `delete_as(user, post)`, `react_as(user, post, emoji)`,
`upload_as(user, channel, name, data) -> FileInfo`, `typing_as(user, channel, parent_id=)`, and
`webapp_send(user, channel, text, root_id=)`, which also plays the webapp's slash command dance
(/commands/execute first; a 404 then a plain post, as the user's second Enter does). Failures raise
`AppError` (`.id`, `.status`, `.message`).

Looking: `posts_in(channel)`, `get_post(id)`, `post_json(post)` (the wire form), `reactions_on(post)`,
`requests` (every HTTP request: method, path, query, status, user_id, JSON body), `events` (every event
published, with the `mentions` and `followers` sets computed for `posted`),
`await wait_for_post(predicate, timeout)` (matches existing, new and edited posts),
`sockets_of(user)`, `await wait_for_sockets(user, count, timeout)`,
`publish_raw(event, data, user=|channel=)` for events a client must tolerate.

Faults: `drop_sockets()` (TCP cut, no close frame), `await restart(downtime=, version=)` (sockets and
keep-alives cut, port closed for `downtime`, new hello server_version/connection ids, data kept; the
in-memory `pending_post_id` cache is lost, as on the real server), `restart_during_next(method, path,
downtime=)` (that request is carried out, then the server restarts before answering it),
`force_429(n, path_prefix=)`, `rate_limit(per_second, burst)` / `rate_limit(None)`.

Constructor knobs: `auth_timeout` (5 s authentication deadline), `ping_interval` / `pong_wait`
(60 s / 100 s keepalive), `collapsed_threads` (True: replies notify thread followers, not `comments`),
`pending_post_ttl` (30 s idempotency window for `pending_post_id`, which only the creation's response and
`posted` event echo: posts read back never carry it, as the server does not store it), `version`.

Deliberate determinism: post timestamps strictly increase (a busy server can give two changes the same
millisecond, which matters to `since` cursors; here they never tie).

Not emulated: reliable WebSocket resume (a `connection_id` from a previous socket gets a fresh stream and a
new id, as after a server restart), `posted_ack`/`should_ack`, thread_updated events, ephemeral
out-of-channel mention warnings, image previews and thumbnails, custom slash commands, admins.
"""

from .errors import AppError
from .events import Broadcast, Event
from .known_differences import KNOWN_DIFFERENCES, KnownDifference
from .model import Channel, FileInfo, Post, Reaction, Team, User
from .server import MattermostEmulator

__all__ = [
    "KNOWN_DIFFERENCES",
    "AppError",
    "Broadcast",
    "Channel",
    "Event",
    "FileInfo",
    "KnownDifference",
    "MattermostEmulator",
    "Post",
    "Reaction",
    "Team",
    "User",
]
