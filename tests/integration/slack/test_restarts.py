"""A real `hermes gateway run` on Slack, stopped, killed and started again: every message answered once."""

from __future__ import annotations

import asyncio
import secrets
import signal

import aiohttp

from hermes.platforms.base import ChatRef
from hermes.platforms.slack.addressing import Bot
from hermes.platforms.slack.inbound import ThreadBook
from hermes.platforms.slack.outbound import Outbound
from hermes.platforms.slack.web import SlackWeb
from tests.fakes.llm import Text
from tests.fakes.slack import SlackEmulator
from tests.harness.gateway import GatewayProcess, start_gateway_process, wait_for_log, write_home
from tests.harness.synapse_server import free_port

from .conftest import SlackBot


async def stopped(process: GatewayProcess, timeout: float = 30.0) -> int:
    """SIGTERM, then wait without blocking the loop: the emulator runs in it, and the gateway's last
    requests (its ✅ reactions) need an answer before it can finish its runs and exit."""
    process.proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(timeout):
        while process.proc.poll() is None:
            await asyncio.sleep(0.05)
    return process.proc.returncode


def api_url_only(bot: SlackBot) -> dict[str, str]:
    """The one setting a test adds to the environment: where Slack is (the emulator)."""
    return {"SLACK_API_URL": bot.slack.api_url}


async def test_a_gateway_configured_from_the_fleet_managers_env_answers(bot: SlackBot) -> None:
    home_channel = bot.slack.add_channel("ops", [bot.alice, bot.slack.bot])
    api_port = free_port()
    write_home(
        bot.home,
        config={"model": {"provider": "custom", "base_url": bot.llm.base_url, "default": "fake-model"}},
    )
    # as the fleet manager renders it (hermes-docs 003: its .env block, with its inline comment), the
    # Slack keys added by its channels stage, the home keys only when set
    (bot.home / ".env").write_text(
        "HERMES_INFERENCE_PROVIDER=custom\n"
        "API_SERVER_ENABLED=1\n"
        "API_SERVER_HOST=127.0.0.1\n"
        f"API_SERVER_PORT={api_port}\n"
        f"API_SERVER_KEY={secrets.token_hex(32)} # from secrets.json\n"
        f"SLACK_BOT_TOKEN={bot.slack.bot_token}\n"
        f"SLACK_APP_TOKEN={bot.slack.app_token}\n"
        f"SLACK_ALLOWED_USERS={bot.alice.id},{bot.bob.id}\n"
        f"SLACK_HOME_CHANNEL={home_channel.id}\n"
        "SLACK_HOME_CHANNEL_NAME=ops\n"
    )
    (bot.home / ".env").chmod(0o600)
    process = start_gateway_process(bot.home, api_url_only(bot))
    try:
        await wait_for_log(process, "slack: connected")
        dm = bot.dm(bot.alice)
        await bot.slack.post(bot.alice, dm, "hello from the fleet")
        await bot.reply(dm, lambda m: m.text == "hello from the fleet", timeout=15)
        await bot.slack.post(bot.alice, bot.general, f"{bot.mention} in a channel too")
        await bot.reply(bot.general, lambda m: m.text == "in a channel too", timeout=15)
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{api_port}/health") as health,
        ):
            assert health.status == 200  # the API server runs beside Slack
    finally:
        assert await stopped(process) == 0


async def test_messages_sent_while_the_gateway_was_stopped_are_each_answered_once(bot: SlackBot) -> None:
    bot.configure(config={"display": {"busy_input_mode": "queue"}})
    dm = bot.dm(bot.alice)
    first = start_gateway_process(bot.home, api_url_only(bot))
    try:
        await wait_for_log(first, "slack: connected")
        await bot.slack.post(bot.alice, dm, "one")
        await bot.reply(dm, lambda m: m.text == "one", timeout=15)
        asked = await bot.slack.post(bot.bob, bot.general, f"{bot.mention} start a thread")
        await bot.reply(bot.general, lambda m: m.text == "start a thread", timeout=15)
    finally:
        assert await stopped(first) == 0
    await bot.slack.post(bot.alice, dm, "two")
    await bot.slack.post(bot.alice, dm, "three")
    await bot.slack.post(bot.bob, bot.general, "four, in the bot's thread", thread_ts=asked.ts)
    await bot.slack.post(bot.bob, bot.general, "five, not for the bot")
    await bot.slack.post(bot.bob, bot.general, f"{bot.mention} six, a new mention")
    second = start_gateway_process(bot.home, api_url_only(bot))
    try:
        await wait_for_log(second, "slack: connected")
        await bot.reply(dm, lambda m: m.text == "three", timeout=15)
        await bot.reply(bot.general, lambda m: m.text == "four, in the bot's thread", timeout=15)
        await bot.reply(bot.general, lambda m: m.text == "six, a new mention", timeout=15)
        await bot.slack.post(bot.alice, dm, "seven")
        await bot.reply(dm, lambda m: m.text == "seven", timeout=15)
    finally:
        assert await stopped(second) == 0
    assert [m.text for m in bot.replies_in(dm)] == ["one", "two", "three", "seven"]
    assert sorted(m.text for m in bot.replies_in(bot.general)) == sorted(
        ["start a thread", "four, in the bot's thread", "six, a new mention"]
    )


async def test_a_reply_cut_by_sigkill_is_finished_once_after_restart(bot: SlackBot) -> None:
    story = " ".join(f"word{i}" for i in range(60))
    bot.llm.instant = False
    bot.llm.script(Text(story, chunk_delay=0.05), Text("the whole story, told after the restart"))
    bot.configure()
    dm = bot.dm(bot.alice)
    first = start_gateway_process(bot.home, api_url_only(bot))
    try:
        await wait_for_log(first, "slack: connected")
        await bot.slack.post(bot.alice, dm, "tell me a story")
        streamed = await bot.reply(dm, lambda m: m.edited_ts is not None, timeout=15)
    finally:
        first.kill()
    assert streamed.text != story
    second = start_gateway_process(bot.home, api_url_only(bot))
    try:
        await wait_for_log(second, "slack: connected")
        await bot.reply(dm, lambda m: m.text == "the whole story, told after the restart", timeout=15)
    finally:
        assert await stopped(second) == 0
    assert [m.ts for m in bot.replies_in(dm)] == [streamed.ts]


async def test_a_chunk_posted_just_before_a_crash_is_found_not_posted_again(slack: SlackEmulator) -> None:
    """The crash between chat.postMessage and recording it: the next process finds the chunk by the key
    in its metadata and edits it."""
    alice = slack.add_user("alice")
    dm = slack.dm(alice)
    asked = await slack.post(alice, dm, "question")
    chat = ChatRef("slack", dm.id, "dm")
    key = f"{dm.id}:{asked.ts}:0"
    bot = Bot(slack.bot.id, slack.bot.bot_id or "")
    before = SlackWeb(slack.bot_token, slack.api_url)
    after = SlackWeb(slack.bot_token, slack.api_url)
    try:
        crashed = Outbound(before, ThreadBook(before, bot), bot.user_id)
        first = await crashed.send(chat, "half an ans", key, ())
        restarted = Outbound(after, ThreadBook(after, bot), bot.user_id)
        restarted.is_fresh = lambda event_id: False
        again = await restarted.send(chat, "half an answer, whole now", key, ())
        other = await restarted.send(chat, "second chunk", f"{dm.id}:{asked.ts}:1", ())
    finally:
        await before.close()
        await after.close()
    assert again.message_id == first.message_id
    assert [m.text for m in slack.bot_messages(dm)] == ["half an answer, whole now", "second chunk"]
    assert other.message_id != first.message_id
    assert len(slack.calls("conversations.history")) == 1  # one look per event, not per chunk
