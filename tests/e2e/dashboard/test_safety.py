"""The dashboard's safety rules, seen from the browser and from the command line."""

from __future__ import annotations

import asyncio
import re
import subprocess

from playwright.async_api import expect

from tests.harness.dashboard import fleet_environment, page_on, running_dashboard
from tests.harness.gateway import HERMES
from tests.harness.synapse_server import free_port
from tests.integration.mattermost.conftest import MattermostBot

DASHBOARD_TOKEN = "dash-token-0123456789abcdef"
PAGES = ("/", "/sessions", "/memory", "/cron", "/skills", "/config", "/logs", "/metrics", "/chat")


def dashboard_exit(bot: MattermostBot, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HERMES, "dashboard", "--no-open", *args],
        cwd=bot.home,
        env=fleet_environment(bot.home),
        capture_output=True,
        text=True,
        timeout=30,
    )


async def test_a_non_loopback_host_is_refused_without_a_token(bot: MattermostBot) -> None:
    result = await asyncio.to_thread(dashboard_exit, bot, "--host", "0.0.0.0", "--port", str(free_port()))
    assert result.returncode == 78
    assert "not loopback" in result.stderr and "HERMES_DASHBOARD_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


async def test_a_port_in_use_is_one_clear_line(bot: MattermostBot) -> None:
    async with running_dashboard(bot.home) as first:
        result = await asyncio.to_thread(dashboard_exit, bot, "--port", str(first.port))
    assert result.returncode == 1
    assert result.stderr.startswith(f"hermes dashboard: cannot listen on 127.0.0.1:{first.port}")


async def test_with_a_token_every_page_asks_for_it(bot: MattermostBot) -> None:
    bot.configure(env={"HERMES_DASHBOARD_TOKEN": DASHBOARD_TOKEN})
    async with running_dashboard(bot.home) as dashboard, page_on(dashboard) as page:
        for path in PAGES:
            await page.goto(path)
            await expect(page.get_by_role("heading", name="Dashboard token")).to_be_visible()
        await page.get_by_label("Token").fill("not the token")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("p.error")).to_have_text("That is not the dashboard token.")
        await page.get_by_label("Token").fill(DASHBOARD_TOKEN)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(re.compile(r"/chat\?session=[0-9a-f]{16}$"))  # the page last asked for
        await page.goto("/config")
        await expect(page.get_by_role("heading", name="Config")).to_be_visible()
        html = await page.content()
        cookies = await page.context.cookies()
        api = await page.request.get("/sessions", headers={"Accept": "application/json"})
        assert api.status == 200
    assert DASHBOARD_TOKEN not in html
    assert all(DASHBOARD_TOKEN not in cookie["value"] for cookie in cookies)


async def test_no_secret_reaches_a_page_or_the_log_view(bot: MattermostBot) -> None:
    secrets = {"MATTERMOST_TOKEN": bot.token, "OPENROUTER_API_KEY": "sk-or-v1-very-secret-key-42"}
    bot.configure(env={"OPENROUTER_API_KEY": secrets["OPENROUTER_API_KEY"]})
    logs = bot.home / "logs"
    logs.mkdir(parents=True)
    (logs / "gateway.log").write_text(
        f"2026-12-07 09:00:00,001 INFO hermes.platforms.mattermost.rest: GET /users/me with {bot.token}\n"
        "2026-12-07 09:00:00,002 WARNING hermes.agent.providers.openai_http: retrying\n"
    )
    memory = bot.home / "memories"
    memory.mkdir()
    (memory / "MEMORY.md").write_text(f"the key is {secrets['OPENROUTER_API_KEY']}\n")
    async with running_dashboard(bot.home) as dashboard, page_on(dashboard) as page:
        seen = []
        for path in PAGES:
            await page.goto(path)
            seen.append(await page.content())
        await page.goto("/config")
        token_row = page.locator("#config tr", has_text="mattermost.token")
        await expect(token_row).to_contain_text("set (secret, not shown)")
        # The unit's EnvironmentFile= puts .env in the process environment, which is what the page says.
        await expect(token_row).to_contain_text("environment")
        await page.goto("/logs")
        await expect(page.locator("#log")).to_contain_text("GET /users/me with [REDACTED]")
    for html in seen:
        for secret in secrets.values():
            assert secret not in html
    assert bot.token not in dashboard.log()


async def test_logs_filter_and_follow_live(bot: MattermostBot) -> None:
    logs = bot.home / "logs"
    logs.mkdir(parents=True)
    log = logs / "gateway.log"
    log.write_text(
        "2026-12-07 09:00:00,001 INFO hermes.platforms.mattermost.listener: connected\n"
        "2026-12-07 09:00:01,001 ERROR hermes.platforms.matrix.sync: sync failed\n"
        "Traceback (most recent call last):\n  boom\n"
        "2026-12-07 09:00:02,001 INFO hermes.gateway.hub: run finished\n"
    )
    async with running_dashboard(bot.home) as dashboard, page_on(dashboard) as page:
        await page.goto("/logs")
        await page.get_by_label("Level at least").select_option("ERROR")
        await page.get_by_role("button", name="Filter").click()
        await expect(page.locator("#log")).to_have_text(
            "2026-12-07 09:00:01,001 ERROR hermes.platforms.matrix.sync: sync failed\n"
            "Traceback (most recent call last):\n  boom\n"
        )
        await page.goto("/logs?platform=mattermost")
        await expect(page.locator("#log")).to_contain_text("listener: connected")
        await expect(page.locator("#log")).not_to_contain_text("matrix")
        await asyncio.sleep(0.5)  # the stream is open
        with log.open("a") as handle:
            handle.write(
                "2026-12-07 09:00:03,001 WARNING hermes.platforms.mattermost.websocket: reconnecting\n"
            )
            handle.write("2026-12-07 09:00:03,002 WARNING hermes.platforms.matrix.sync: not shown\n")
        await expect(page.locator("#log")).to_contain_text("websocket: reconnecting")
        await expect(page.locator("#log")).not_to_contain_text("not shown")
