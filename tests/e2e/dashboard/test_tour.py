"""Clicking through every page in a real browser, with a conversation held on a real platform."""

from __future__ import annotations

import random
import time
from pathlib import Path

from playwright.async_api import expect

from hermes.store import NewMessage, Store
from tests.fakes.llm import Call, Text, ToolCalls
from tests.harness.dashboard import page_on, running_dashboard
from tests.integration.mattermost.conftest import MattermostBot, hub_of, settled

from .conftest import shoot

PAGES = [
    ("Overview", "/", "overview"),
    ("Sessions", "/sessions", "sessions"),
    ("Memory", "/memory", "memory"),
    ("Cron jobs", "/cron", "cron"),
    ("Skills", "/skills", "skills"),
    ("Config", "/config", "config"),
    ("Logs", "/logs", "logs"),
    ("Metrics", "/metrics", "metrics"),
    ("Chat", "/chat", "chat"),
]


def furnish(home: Path) -> None:
    """What a lived-in home has besides conversations: a skill, a memory, a log."""
    skill = home / "skills" / "research" / "arxiv"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        "---\nname: arxiv\ndescription: Find and summarise papers on arXiv.\n---\n\n"
        "# arXiv\n\nSearch first.\n"
    )
    (home / "memories").mkdir(exist_ok=True)
    (home / "memories" / "MEMORY.md").write_text("The team ships on Thursdays.\n")
    (home / "logs").mkdir(exist_ok=True)
    (home / "logs" / "gateway.log").write_text(
        "2026-12-07 09:00:00,001 INFO hermes.gateway.runner: gateway running with mattermost\n"
        "2026-12-07 09:00:01,002 INFO hermes.platforms.mattermost.platform: connected as @hermes\n"
    )


async def lived_in(home: Path) -> None:
    """A day of earlier conversations, so the lists and the plots have something to show."""
    now = time.time()
    clock = Clock(now)
    rng = random.Random(3)
    async with await Store.open(home / "state.db", clock=clock) as store:
        for number in range(36):
            clock.now = now - 82000 + number * 2200 + rng.uniform(0, 600)
            platform, chat = [("mattermost", "town"), ("matrix", "!ops:example.org"), ("api_server", "ci")][
                number % 3
            ]
            session = await store.sessions.get_or_create(
                f"{platform}:group:{chat}:u{number % 5}", platform=platform, chat_id=chat
            )
            await store.sessions.append(
                session.id, [NewMessage("user", f"question {number} about the release")]
            )
            clock.now += rng.uniform(1, 9)
            await store.sessions.append(
                session.id,
                [
                    NewMessage(
                        "assistant",
                        f"answer {number}",
                        prompt_tokens=rng.randint(800, 3000),
                        completion_tokens=rng.randint(40, 400),
                    ),
                ],
            )


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_every_page_with_a_mattermost_dm_in_sessions(bot: MattermostBot, shots: Path) -> None:
    furnish(bot.home)
    await lived_in(bot.home)
    dm = bot.dm_with(bot.alice)
    async with bot.running() as gateway:
        bot.llm.script(
            ToolCalls([Call("session_search", {"query": "release"})]),
            Text("Yes: the release came up in earlier conversations; the last one asked about its date."),
        )
        await bot.mm.post_as(bot.alice, dm, "hello from mattermost, did we talk about the release?")
        await bot.reply(dm)
        await settled(gateway)
        store = hub_of(gateway).store
        await store.jobs.create(
            name="standup digest",
            schedule_kind="cron",
            schedule_value="0 9 * * 1-5",
            prompt="Summarise yesterday.",
            target="home:mattermost",
            next_run_at=4102444800.0,
        )
        async with running_dashboard(bot.home) as dashboard, page_on(dashboard) as page:
            await page.goto("/")
            await expect(page.locator("#gateway-state")).to_have_text("running")
            await expect(page.locator("#platforms")).to_contain_text("mattermost")
            await expect(page.locator("#platforms")).to_contain_text("connected")
            for label, path, name in PAGES:
                await page.get_by_role("link", name=label, exact=True).click()
                await expect(page).to_have_url(
                    f"{dashboard.url}{path}"
                    if name != "chat"
                    else f"{dashboard.url}/chat?session=" + page.url.rsplit("=", 1)[-1]
                )
                await expect(page.locator("nav a.current")).to_have_text(label)
                if name != "chat":  # the chat test shows a conversation instead
                    await shoot(page, name, shots)

            await page.goto("/sessions")
            session_link = page.locator("#sessions a", has_text=f"mattermost:dm:{dm.id}")
            await expect(session_link).to_be_visible()
            await session_link.click()
            await expect(page.locator(".transcript")).to_contain_text("hello from mattermost")
            await expect(page.locator(".transcript .tool-call")).to_contain_text(
                'session_search {"query": "release"}'
            )
            await expect(page.locator(".transcript .role-tool")).to_contain_text("release")
            await shoot(page, "transcript", shots)

            await page.goto("/sessions?q=mattermost")
            await expect(page.locator("#hits")).to_contain_text(f"mattermost:dm:{dm.id}")
            await page.goto("/skills")
            await page.get_by_role("link", name="arxiv").click()
            await expect(page.locator("#skill-body")).to_contain_text("Search first.")
            await page.goto("/cron")
            await expect(page.locator("#jobs")).to_contain_text("standup digest")
            await page.goto("/metrics")
            await expect(page.locator("svg.chart")).to_have_count(3)
            await expect(page.locator("#totals")).to_contain_text("37 requests · 37 runs")
