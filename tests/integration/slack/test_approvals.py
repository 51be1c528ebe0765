"""Tool approvals on Slack: Approve / Deny buttons under the question, the words still working."""

from __future__ import annotations

from tests.fakes.llm import Call, Text, ToolCalls
from tests.fakes.slack import Conversation, Message
from tests.integration.agent.conftest import tool_results

from .conftest import SlackBot, settled

COMMAND = "echo ran > marker.txt && cat marker.txt"


async def ask(bot: SlackBot) -> tuple[Conversation, Message]:
    bot.llm.script(ToolCalls([Call("terminal", {"command": COMMAND})]), Text("Done."))
    dm = bot.dm(bot.alice)
    await bot.slack.post(bot.alice, dm, "please run it")
    question = await bot.reply(dm, lambda m: "Reply *yes*" in m.text)
    assert question.blocks is not None
    buttons = question.blocks[-1]
    assert buttons["type"] == "actions"
    assert [e["action_id"] for e in buttons["elements"]] == ["hermes_approve", "hermes_deny"]
    return dm, question


async def test_the_approve_button_runs_the_command(bot: SlackBot) -> None:
    bot.configure(config={"tools": {"terminal": {"enabled": True}}})
    async with bot.running() as gateway:
        dm, question = await ask(bot)
        await (await bot.slack.click(bot.alice, question, "hermes_approve", "yes")).acked()
        await bot.reply(dm, lambda m: m.text == "Done.")
        await settled(gateway)
        assert (gateway.config.paths.workspace / "marker.txt").read_text() == "ran\n"
        assert tool_results(bot.llm.chat_requests[-1]) == ["ran\n[exit code 0]"]


async def test_someone_elses_click_answers_nothing_and_deny_refuses(bot: SlackBot) -> None:
    bot.configure(config={"tools": {"terminal": {"enabled": True}}})
    async with bot.running() as gateway:
        dm, question = await ask(bot)
        await (await bot.slack.click(bot.bob, question, "hermes_approve", "yes")).acked()
        await (await bot.slack.click(bot.alice, question, "hermes_deny", "no")).acked()
        await bot.reply(dm, lambda m: m.text == "Done.")
        await settled(gateway)
        assert not (gateway.config.paths.workspace / "marker.txt").exists()
        [result] = tool_results(bot.llm.chat_requests[-1])
        assert "did not approve" in result
        # the clicks themselves never reached the model
        assert [r.last_user_text for r in bot.llm.chat_requests[:1]] == ["please run it"]


async def test_without_interactivity_the_words_still_answer(bot: SlackBot) -> None:
    bot.configure(config={"tools": {"terminal": {"enabled": True}}})
    async with bot.running() as gateway:
        dm, _ = await ask(bot)
        await bot.slack.post(bot.alice, dm, "yes")
        await bot.reply(dm, lambda m: m.text == "Done.")
        await settled(gateway)
        assert (gateway.config.paths.workspace / "marker.txt").read_text() == "ran\n"


async def test_a_check_mark_on_the_question_approves_and_one_elsewhere_does_not(bot: SlackBot) -> None:
    bot.configure(config={"tools": {"terminal": {"enabled": True}}})
    async with bot.running() as gateway:
        dm, question = await ask(bot)
        asked = bot.slack.messages(dm)[0]
        # a ❌ on a message that is not the question answers nothing
        await bot.slack.workspace.react(bot.alice, dm, asked.ts, "x", add=True)
        await bot.slack.workspace.react(bot.alice, dm, question.ts, "white_check_mark", add=True)
        await bot.reply(dm, lambda m: m.text == "Done.")
        await settled(gateway)
        assert (gateway.config.paths.workspace / "marker.txt").read_text() == "ran\n"
