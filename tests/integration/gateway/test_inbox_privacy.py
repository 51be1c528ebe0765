"""What the inbox keeps of events the bot will not answer: enough for exactly-once, none of their content."""

from __future__ import annotations

from hermes.gateway.codec import from_payload
from hermes.platforms.base import AccessList
from hermes.testing import TestPlatform
from tests.fakes.llm import Text


async def test_a_strangers_flood_is_not_stored(make_rig) -> None:
    rig = await make_rig(platform=TestPlatform(access=AccessList(frozenset({"@alice"}))))
    big = "x" * 60_000
    for n in range(200):
        await rig.platform.push(f"{big} {n}", user="@mallory", chat="room", kind="group")
    await rig.platform.push(
        "unaddressed chatter " + big, user="@alice", chat="room", kind="group", addressed=False
    )
    await rig.settled()
    [rows, stored] = await rig.store.db.run(
        lambda conn: conn.execute("SELECT count(*), sum(length(payload)) FROM inbox").fetchone()
    )
    # 12 MB of text before; now a few hundred bytes of ids per event.
    assert rows == 201 and stored < 201 * 1000, stored
    skipped = await rig.store.inbox.get("test", "ev1")
    assert skipped is not None and skipped.status == "skipped" and skipped.skip_reason == "not allowed"
    assert skipped.payload["text"] == "" and skipped.payload["sender_id"] == "@mallory"
    chatter = await rig.store.inbox.get("test", "ev201")
    assert chatter is not None and chatter.skip_reason == "not addressed" and chatter.payload["text"] == ""
    # Still exactly once: the same event offered again (a replay after a reconnect) is recognised.
    assert await rig.hub.receive(from_payload(skipped.payload)) is False


async def test_what_the_bot_answers_is_kept_until_answered(make_rig) -> None:
    rig = await make_rig(platform=TestPlatform(access=AccessList(frozenset({"@alice"}))))
    rig.llm.script(Text("Hello Alice."))
    await rig.platform.push("hello bot", user="@alice")
    await rig.reply_texts(1)
    kept = await rig.store.inbox.get("test", "ev1")
    assert kept is not None and kept.status == "done" and kept.payload["text"] == "hello bot"
