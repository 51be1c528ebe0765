"""A Discord emulator for tests: REST v10 and the Gateway, in-process, on 127.0.0.1.

Ground truth is `reference/discord/SERVICE-BEHAVIOUR.md` (Discord's docs and discord.py's behaviour);
when the emulator and the reference disagree, the emulator is wrong.

    async with DiscordEmulator() as dc:
        bot, token = dc.create_bot("hermes")              # the bot user and its application
        alice = dc.create_user("alice")
        guild = dc.create_guild("core", [alice, bot])
        general = dc.create_channel(guild, "general")
        dm = dc.dm_channel(alice)
        # point the client under test at dc.url (DISCORD_API_URL) with `token`
        await dc.post_as(alice, general, f"<@{bot.id}> summarize this")
        reply = await dc.wait_for_message(lambda m: m.author_id == bot.id, timeout=5)

Faithful on: snowflake ids (strings, time-ordered), per-session sequence numbers, HELLO/heartbeat ACK,
IDENTIFY → READY → GUILD_CREATE (channels and active threads), the intents (events filtered by
GUILD_MESSAGES/DIRECT_MESSAGES; MESSAGE_CONTENT blanking content, attachments and embeds except in DMs,
the bot's own messages and messages mentioning it; privileged intents the portal has not enabled close
4014, unknown bits 4013), RESUME with replay then RESUMED (op 9 false for an unknown session), op 7,
close codes 4001-4005/4008, rate-limit headers (complete sets) and 429 bodies with `Via`, the error bodies
(401, 10003, 10008, 10014, 50005, 50006, 50035 with its `_errors` nesting, the 2,000-character error),
mentions parsed from `<@id>`/`<@&id>`/@everyone as far as `allowed_mentions` lets them (plus the replied-to
author), `nonce` + `enforce_nonce` (a repeat returns the first message and dispatches nothing), threads
started from a message (thread id = message id; THREAD_CREATE and MESSAGE_UPDATE), application commands
(bulk overwrite, a count of writes), interactions (INTERACTION_CREATE, callback once, @original), and
attachments (multipart `payload_json` + `files[n]`, served without auth at their `url`), and link previews
(every link fetched, into `world.unfurled`, unless the message has SUPPRESS_EMBEDS or the link is in <...>).

Humans act through the code the REST handlers run: `post_as`, `edit_as`, `react_as`, `start_thread_as`,
`interact_as`. Faults: `drop_gateway()`, `gateway_reconnect()` (op 7), `invalidate_sessions(resumable)`
(op 9), `forget_sessions()`, `close_gateway(code)`, `force_429(n, path_prefix=, global_=)`,
`refuse(method, path_prefix, error)` (one-shot, e.g. 50013), `gateway.ack_heartbeats = False` (a zombie
link), `gateway.heartbeat_interval_ms`, `gateway.dispatch_raw(event, data)`, and `limiter` (per-route
limits, on by default: 5 messages per 5 s per channel, 50 requests/s globally). `watch(predicate)` resolves
the moment a matching message is created (for benchmarks).
Looking: `messages_in`, `get_message`, `wait_for_message`, `rest.requests`, `gateway.identifies`,
`gateway.resumes`, `gateway.connections[i].received`, `world.typing`, `app.commands`, `app.command_writes`.

Not emulated: zlib/zstd transport compression (the client asks for none), sharding, voice, presences,
member chunking, forum posts, the 1000-IDENTIFY daily limit, heartbeat-timeout closes.
"""

from .errors import DiscordError
from .model import Channel, Guild, Message, User
from .server import DiscordEmulator

__all__ = ["Channel", "DiscordEmulator", "DiscordError", "Guild", "Message", "User"]
