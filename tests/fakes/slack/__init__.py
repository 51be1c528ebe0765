"""A Slack emulator for tests: the Web API and Socket Mode, in-process, on 127.0.0.1.

Ground truth is `reference/slack/SERVICE-BEHAVIOUR.md`; where the emulator departs from it on purpose the
difference is listed in `KNOWN_DIFFERENCES`.

    async with SlackEmulator() as slack:
        alice = slack.add_user("alice")
        general = slack.add_channel("general", [alice, slack.bot])
        # point the client under test at slack.api_url with slack.bot_token / slack.app_token
        await slack.post(alice, general, f"<@{slack.bot.id}> hello")
        reply = await slack.wait_for_message(general)

Humans act through the same code the Web API handlers use (`post`, `upload`, `slash`, `click`); a test may
also drive the Web API with a user token (`user_token(alice)`, `xoxp-…`). The bot's own posts come back to
it as `message` events with `bot_id`, as on the real service.

Faults: `disconnect(reason)` (warning / refresh_requested / link_disabled), `drop_connections()` (TCP cut),
`socket.acks_to_lose` (acks that never arrive: their events come back with `retry_attempt`),
`limits.enforce(...)` (tiers) and `limits.next_429(method, retry_after)`, `revoke_tokens()`,
`set_scopes(...)`. Knobs: `ack_timeout` (3 s), `retry_delays` ((0, 60, 300) s).
"""

from .known_differences import KNOWN_DIFFERENCES
from .model import Conversation, File, Message, User
from .server import Interaction, SlackEmulator
from .socket import Delivery
from .workspace import SlackError

__all__ = [
    "KNOWN_DIFFERENCES",
    "Conversation",
    "Delivery",
    "File",
    "Interaction",
    "Message",
    "SlackEmulator",
    "SlackError",
    "User",
]
