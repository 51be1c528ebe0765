"""What the operator does on the pages, seen where it matters: in the agent's prompt, in the scheduler, in
the chat stream, and in what the server refuses."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from playwright.async_api import expect

from tests.fakes.llm import Call, FakeLLM, Text, ToolCalls
from tests.harness.dashboard import page_on, running_dashboard
from tests.integration.mattermost.conftest import MattermostBot, hub_of, settled

from .conftest import shoot


async def test_memory_edited_on_the_page_is_in_the_agents_next_prompt(bot: MattermostBot) -> None:
    bot.configure(allowed=[bot.alice])  # the one allowed user is the owner: memories/ is hers
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway, running_dashboard(bot.home) as dashboard, page_on(dashboard) as page:
        await page.goto("/memory")
        editor = page.locator("#editor-MEMORY-md")
        await editor.locator("textarea").fill("Alice's cat is called Marmalade.")
        await expect(editor.locator(".used")).to_have_text("33")
        await editor.get_by_role("button", name="Save MEMORY.md").click()
        await expect(page.locator("#notice")).to_have_text("Saved MEMORY.md.")
        await bot.mm.post_as(bot.alice, dm, "what is my cat called?")
        await bot.reply(dm)
        await settled(gateway)
    [request] = bot.llm.chat_requests
    assert "Alice's cat is called Marmalade." in request.system
    assert (bot.home / "memories" / "MEMORY.md").read_text() == "Alice's cat is called Marmalade.\n"


async def test_a_memory_save_over_an_edit_made_elsewhere_is_refused_and_the_text_kept(
    bot: MattermostBot,
) -> None:
    memory = bot.home / "memories" / "MEMORY.md"
    memory.parent.mkdir(parents=True, exist_ok=True)
    memory.write_text("first version\n")
    async with running_dashboard(bot.home) as dashboard, page_on(dashboard) as page:
        await page.goto("/memory")
        editor = page.locator("#editor-MEMORY-md")
        await editor.locator("textarea").fill("my careful edit")
        memory.write_text("the agent saved this meanwhile\n")
        await editor.get_by_role("button", name="Save MEMORY.md").click()
        await expect(page.locator("#problem")).to_contain_text("changed since this page was loaded")
        await expect(page.locator("#editor-MEMORY-md textarea")).to_have_value("my careful edit")
        assert memory.read_text() == "the agent saved this meanwhile\n"
        # Saving again without a reload is refused again; after the reload the new version is there.
        await page.locator("#editor-MEMORY-md").get_by_role("button", name="Save MEMORY.md").click()
        await expect(page.locator("#problem")).to_be_visible()
        await page.get_by_role("link", name="Reload").click()
        await expect(page.locator("#editor-MEMORY-md textarea")).to_have_value(
            "the agent saved this meanwhile\n"
        )
        # Over the limit: refused with the count, nothing written.
        await page.locator("#editor-USER-md textarea").fill("x" * 1400)
        await expect(page.locator("#editor-USER-md .count")).to_have_class("count over")
        await page.locator("#editor-USER-md").get_by_role("button", name="Save USER.md").click()
        await expect(page.locator("#problem")).to_contain_text("over its 1375-char limit")
    assert not (bot.home / "memories" / "USER.md").exists()


async def test_a_job_paused_on_the_page_does_not_fire_and_fires_once_resumed(bot: MattermostBot) -> None:
    bot.configure(env={"MATTERMOST_HOME_CHANNEL": bot.town.id})
    async with bot.running() as gateway, running_dashboard(bot.home) as dashboard, page_on(dashboard) as page:
        hub = hub_of(gateway)
        scheduler = gateway.gateway.scheduler
        assert scheduler is not None
        job = await hub.store.jobs.create(
            name="tick",
            schedule_kind="interval",
            schedule_value="60",
            prompt="Say tick.",
            target="home:mattermost",
            next_run_at=time.time() + 3,
        )
        await page.goto("/cron")
        row = page.locator(f"#job-{job.id}")
        await row.get_by_role("button", name="Pause").click()
        await expect(page.locator("#notice")).to_contain_text(f"Paused job {job.id}")
        await expect(page.locator(f"#job-{job.id} .state")).to_have_text("paused")
        scheduler.poll_seconds = 0.1
        scheduler.wake()
        await asyncio.sleep(4)  # past the time it was due
        assert bot.llm.chat_requests == []
        assert (await hub.store.jobs.get(job.id)).last_run_at is None  # type: ignore[union-attr]
        await page.locator(f"#job-{job.id}").get_by_role("button", name="Resume").click()
        await page.locator(f"#job-{job.id}").get_by_role("button", name="Run now").click()
        await expect(page.locator("#notice")).to_contain_text("is due now")
        reply = await bot.reply(bot.town, timeout=10)
        await settled(gateway)
    assert reply.message.startswith("⏰ **tick**") and reply.message.endswith("Say tick.")


async def test_chat_on_the_page_streams_the_reply_and_shows_tool_progress(
    bot: MattermostBot, shots: Path
) -> None:
    answer_text = "Noted: deploys happen on Fridays, and I will remember it."
    async with FakeLLM() as llm:  # not instant: the answer arrives word by word
        llm.script(
            ToolCalls(
                [Call("memory", {"action": "add", "target": "memory", "content": "Deploys are on Fridays."})]
            ),
            Text(answer_text, chunk_delay=0.05),
        )
        bot.configure(llm_url=llm.base_url)
        async with (
            bot.running() as gateway,
            running_dashboard(bot.home) as dashboard,
            page_on(dashboard) as page,
        ):
            await page.goto("/")
            await page.get_by_role("link", name="Chat", exact=True).click()
            await page.evaluate(WATCH_ANSWER)
            await page.locator("#chat-text").fill("remember that we deploy on Fridays")
            await page.locator("#chat-send").click()
            await expect(page.locator("li.tool.ok")).to_contain_text("memory: add memory")
            await expect(page.locator("li.msg.role-assistant.done")).to_have_text(answer_text)
            seen = await page.evaluate("window.answerSeen")
            await shoot(page, "chat", shots)
            session = page.url.rsplit("=", 1)[-1]
            await page.reload()
            await expect(page.locator("#chat")).to_contain_text("remember that we deploy on Fridays")
            await expect(page.locator("#chat")).to_contain_text(answer_text)
            await settled(gateway)
            stored = await hub_of(gateway).store.sessions.current(f"dashboard:dm:{session}")
    growing = [text for text in seen if text and text != answer_text]
    assert len(growing) >= 5 and all(answer_text.startswith(text) for text in growing)
    assert stored is not None and stored.platform == "dashboard"
    assert "Deploys are on Fridays." in (bot.home / "memories" / "MEMORY.md").read_text()


# Records every text the answer's bubble shows while it streams.
WATCH_ANSWER = """() => {
    window.answerSeen = [];
    new MutationObserver(() => {
        const bubble = document.querySelector("li.msg.role-assistant:last-child pre");
        if (bubble) window.answerSeen.push(bubble.textContent);
    }).observe(document.getElementById("chat"), {subtree: true, childList: true, characterData: true});
}"""


async def test_a_command_needing_approval_is_approved_on_the_chat_page(bot: MattermostBot) -> None:
    bot.configure(config={"tools": {"terminal": {"enabled": True}}})
    bot.llm.script(
        ToolCalls([Call("terminal", {"command": "echo approved-and-ran"})]),
        Text("Done."),
    )
    async with bot.running(), running_dashboard(bot.home) as dashboard, page_on(dashboard) as page:
        await page.goto("/chat")
        await page.locator("#chat-text").fill("run the echo")
        await page.locator("#chat-send").click()
        approval = page.locator("li.approval")
        await expect(approval).to_contain_text("echo approved-and-ran")
        await approval.get_by_role("button", name="Approve").click()
        await expect(approval).to_contain_text("Approved.")
        await expect(page.locator("li.msg.role-assistant.done")).to_have_text("Done.")
        await expect(page.locator("li.tool.ok")).to_contain_text("terminal")
    [_, second] = bot.llm.chat_requests
    assert "approved-and-ran" in str(second.messages[-1].get("content"))


async def test_state_changes_without_the_csrf_token_are_refused(bot: MattermostBot) -> None:
    async with bot.running() as gateway, running_dashboard(bot.home) as dashboard, page_on(dashboard) as page:
        store = hub_of(gateway).store
        job = await store.jobs.create(
            name="keep me",
            schedule_kind="interval",
            schedule_value="3600",
            prompt="p",
            target="home:mattermost",
            next_run_at=time.time() + 3600,
        )
        await page.goto("/cron")  # the browser has its session cookie: only the token is missing
        refused = await page.evaluate(
            """async (id) => {
                const form = {"Content-Type": "application/x-www-form-urlencoded"};
                const json = {"Content-Type": "application/json", "X-CSRF-Token": "forged"};
                const chat = JSON.stringify({session: "0123456789abcdef", text: "hi"});
                const answers = [];
                for (const [url, init] of [
                    [`/cron/${id}/delete`, {method: "POST"}],
                    [`/cron/${id}/pause`, {method: "POST", headers: form, body: "_csrf=forged"}],
                    ["/memory/MEMORY.md", {method: "POST", headers: form, body: "text=pwned&base=x"}],
                    ["/chat/send", {method: "POST", headers: json, body: chat}],
                ]) {
                    const response = await fetch(url, init);
                    answers.push([response.status, await response.text()]);
                }
                return answers;
            }""",
            job.id,
        )
        assert [status for status, _ in refused] == [403, 403, 403, 403]
        assert all("CSRF" in body for _, body in refused)
        kept = await store.jobs.get(job.id)
    assert kept is not None and kept.enabled
    assert not (bot.home / "memories" / "MEMORY.md").exists()
    assert bot.llm.chat_requests == []


async def test_the_overview_follows_the_gateway_live(bot: MattermostBot) -> None:
    dm = bot.dm_with(bot.bob)
    async with bot.running() as gateway, running_dashboard(bot.home) as dashboard, page_on(dashboard) as page:
        await page.goto("/")
        await expect(page.locator("#sessions-total")).to_have_text("0")
        await bot.mm.post_as(bot.bob, dm, "anyone there?")
        await bot.reply(dm)
        await settled(gateway)
        # No reload: the page fetches itself again every 5 s.
        await expect(page.locator("#sessions-total")).to_have_text("1", timeout=12_000)
        await expect(page.locator("#platforms")).to_contain_text("s ago")
