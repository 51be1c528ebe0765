"""Where the emulator knowingly departs from the real service, and why that is safe for the tests."""

KNOWN_DIFFERENCES: dict[str, str] = {
    "rate limits off by default": (
        'the tiers are documented as minimums ("50+ per minute"), so tests turn them on with '
        "`limits.enforce()` or script 429s with `limits.next_429()`"
    ),
    "envelope ids on redelivery": (
        "each retry gets a new envelope_id (the event_id stays): the docs do not say; the adapter dedups "
        "on the message, not the envelope"
    ),
    "retry reasons": "socket retries say `timeout` or `connection_failed`; undocumented for Socket Mode",
    "unknown thread_ts": "posts to the channel, as observed of the real service; not documented",
    "assistant.threads.setStatus": "always `not_allowed`: the emulated app has no assistant feature",
    "no Events API rate limit": "30,000 deliveries an hour is out of reach of any test",
    "no message-age window": "events are not dropped after 2 h",
}
