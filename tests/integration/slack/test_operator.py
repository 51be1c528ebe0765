"""The operator's side of Slack: home channel, files both ways, doctor, status."""

from __future__ import annotations

import asyncio
import mimetypes
import os
from pathlib import Path

from hermes.config import load_config
from hermes.gateway.approvals import send_to_target
from hermes.platforms.base import Attachment, ChatRef
from hermes.platforms.slack import SlackPlatform
from tests.harness.gateway import HERMES

from .conftest import SlackBot, hub_of, platform_of, settled


async def test_proactive_messages_go_to_the_home_channel_until_sethome_moves_it(bot: SlackBot) -> None:
    ops = bot.slack.add_channel("ops", [bot.alice, bot.slack.bot])
    bot.configure(env={"SLACK_HOME_CHANNEL": ops.id, "SLACK_HOME_CHANNEL_NAME": "ops"})
    async with bot.running() as gateway:
        hub = hub_of(gateway)
        await send_to_target(hub, "home:slack", "cron result **ready**")
        assert [m.text for m in bot.replies_in(ops)] == ["cron result *ready*"]
        await bot.slack.post(bot.alice, bot.general, f"{bot.mention} /sethome")
        await bot.reply(bot.general, lambda m: "home channel" in m.text)
        await settled(gateway)
        await send_to_target(hub, "home:slack", "next result")
        assert [m.text for m in bot.replies_in(bot.general)][-1] == "next result"
        assert platform_of(gateway).status_fields()["home_channel"] == f"{ops.id} (ops)"


async def test_files_in_reach_the_model_and_files_out_are_uploaded(bot: SlackBot, tmp_path: Path) -> None:
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
    async with bot.running() as gateway:
        dm = bot.dm(bot.alice)
        picture = bot.slack.upload(bot.alice, "dot.png", png, "image/png")
        report = bot.slack.upload(bot.alice, "notes.txt", b"some notes", "text/plain")
        await bot.slack.post(bot.alice, dm, "look at these", files=[picture, report])
        await bot.reply(dm)
        await settled(gateway)
        request = bot.llm.chat_requests[-1]
        assert "notes.txt" in request.last_user_text and "saved at" in request.last_user_text
        assert "image_url" in str(request.messages[-1])
        cached = list((bot.home / "cache").rglob("*notes.txt"))
        assert cached and cached[0].read_bytes() == b"some notes"
        out = tmp_path / "chart.csv"
        out.write_text("a,b\n1,2\n")
        attachment = Attachment("chart.csv", mimetypes.guess_type("chart.csv")[0] or "text/csv", str(out), 8)
        platform = platform_of(gateway)
        await platform.send(
            ChatRef("slack", dm.id, "dm"),
            "here is the chart",
            idempotency_key="t:1",
            attachments=[attachment],
        )
        shared = [m for m in bot.replies_in(dm) if m.files]
        assert len(shared) == 1
        assert bot.slack.workspace.files[shared[0].files[0]].data == b"a,b\n1,2\n"


async def test_doctor_checks_both_tokens_and_names_missing_scopes(bot: SlackBot) -> None:
    bot.configure()
    config = load_config({"HERMES_HOME": str(bot.home)})
    checks = await SlackPlatform.check(config)
    assert all(c.ok for c in checks), [c.line() for c in checks]
    assert any("Socket Mode accepts" in c.label for c in checks)
    bot.slack.set_scopes({"chat:write", "app_mentions:read", "im:history"})
    lacking = [c for c in await SlackPlatform.check(config) if not c.ok]
    assert len(lacking) == 1 and "reactions:write" in lacking[0].label and "users:read" in lacking[0].label
    bot.configure(env={"SLACK_APP_TOKEN": "xapp-1-wrong"})
    refused = [c for c in await SlackPlatform.check(load_config({"HERMES_HOME": str(bot.home)})) if not c.ok]
    assert any("refuses the app token (invalid_auth)" in c.label for c in refused)
    assert any(c.fix and "Socket Mode" in c.fix for c in refused)


async def test_status_shows_the_bot_and_the_workspace(bot: SlackBot) -> None:
    async with bot.running() as gateway:
        fields = platform_of(gateway).status_fields()
        assert fields["bot"] == f"<@{bot.slack.bot.id}>"
        assert fields["workspace"] == "emulated"


async def test_hermes_doctor_shows_the_slack_checks_and_a_troubleshooting_hint(bot: SlackBot) -> None:
    bot.configure()
    bot.home.chmod(0o700)
    bot.slack.set_scopes({"chat:write", "app_mentions:read", "im:history"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    proc = await asyncio.create_subprocess_exec(
        HERMES,
        "doctor",
        env={**env, "HERMES_HOME": str(bot.home)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out = (await proc.communicate())[0].decode()
    assert proc.returncode != 0, out
    assert "✓ slack: signed in as hermes in emulated" in out
    assert "✓ slack: Socket Mode accepts the app token" in out
    assert "✗ slack: the bot lacks scopes" in out and "users:read" in out
    assert "reinstall" in out
