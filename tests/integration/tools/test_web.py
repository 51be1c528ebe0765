"""`web_extract` against a local web server (with `tools.web.allow_private`, as loopback is private), and the
SSRF refusals without it."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hermes.agent.contract import ToolFinished
from hermes.agent.tools.web import FetchRefused, WebExtractTool, WebToolSettings, fetch
from hermes.config.settings import Settings
from tests.fakes.llm import Call, FakeLLM, Text, ToolCalls
from tests.integration.agent.conftest import tool_results
from tests.integration.tools.conftest import AgentRig
from tests.unit.tools.conftest import make_context

ARTICLE = (
    "<html><head><title>Release notes</title><script>track()</script></head><body>"
    "<h2>Version 2</h2><p>Faster &amp; smaller.</p><ul><li>fix A</li><li>fix B</li></ul></body></html>"
)


@pytest.fixture
async def site() -> AsyncIterator[str]:
    hops = {"count": 0}

    async def article(_: web.Request) -> web.Response:
        return web.Response(text=ARTICLE, content_type="text/html")

    async def latin1(_: web.Request) -> web.Response:
        return web.Response(
            body="<p>caf\xe9</p>".encode("latin-1"), content_type="text/html", charset="latin-1"
        )

    async def plain(_: web.Request) -> web.Response:
        return web.Response(text='{"ok": true}', content_type="application/json")

    async def big(_: web.Request) -> web.Response:
        return web.Response(text="A" * 5000, content_type="text/plain")

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def image(_: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n", content_type="image/png")

    async def missing(_: web.Request) -> web.Response:
        return web.Response(status=404, text="<p>No such page</p>", content_type="text/html")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query.get("to", "/article"))

    async def loop(_: web.Request) -> web.Response:
        hops["count"] += 1
        raise web.HTTPFound("/loop")

    app = web.Application()
    for path, handler in {
        "/article": article,
        "/latin1": latin1,
        "/json": plain,
        "/big": big,
        "/slow": slow,
        "/image": image,
        "/missing": missing,
        "/redirect": redirect,
        "/loop": loop,
    }.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


PRIVATE_OK = {"tools": {"web": {"allow_private": True}}}


def ctx_with(tmp_path: Path, **web_settings: Any) -> Any:
    return make_context(tmp_path / "home", Settings.model_validate({"tools": {"web": web_settings}}))


async def test_the_model_reads_a_page_through_the_loop(
    make_agent: Callable[..., Awaitable[AgentRig]], llm: FakeLLM, site: str
) -> None:
    rig = await make_agent(PRIVATE_OK)
    llm.script(ToolCalls([Call("web_extract", {"url": f"{site}/redirect"})]), Text("Version 2 is out."))
    events = await rig.run("what is new?")
    [finished] = [e for e in events if isinstance(e, ToolFinished)]
    assert finished.ok and finished.summary == f"200 {site}/article"
    [result] = tool_results(llm.chat_requests[-1])
    assert result == (
        f"URL: {site}/article\nStatus: 200\nTitle: Release notes\n\n"
        "## Version 2\n\nFaster & smaller.\n\n- fix A\n- fix B"
    )


async def test_text_json_charsets_and_errors(tmp_path: Path, site: str) -> None:
    tool = WebExtractTool()
    ctx = ctx_with(tmp_path, allow_private=True)
    assert (await tool({"url": f"{site}/json"}, ctx)).content.endswith('\n\n{"ok": true}')
    assert (await tool({"url": f"{site}/latin1"}, ctx)).content.endswith("\n\ncafé")
    missing = await tool({"url": f"{site}/missing"}, ctx)
    assert not missing.ok and "Status: 404" in missing.content and "No such page" in missing.content
    image = await tool({"url": f"{site}/image"}, ctx)
    assert not image.ok and "image/png, not text or HTML" in image.content
    looping = await tool({"url": f"{site}/loop"}, ctx)
    assert not looping.ok and "more than 5 redirects" in looping.content
    closed = await tool({"url": "http://127.0.0.1:9/"}, ctx)
    assert not closed.ok and "could not connect" in closed.content


async def test_size_and_time_caps(tmp_path: Path, site: str) -> None:
    tool = WebExtractTool()
    capped = await tool({"url": f"{site}/big"}, ctx_with(tmp_path, allow_private=True, max_bytes=1024))
    assert capped.content.endswith(
        "A" * 1024 + "\n\n[the page is larger than 1024 bytes; only the start was read]"
    )
    cut = await tool({"url": f"{site}/big", "max_chars": 100}, ctx_with(tmp_path, allow_private=True))
    assert cut.content.endswith("A" * 100 + "\n\n[text cut at 100 of 5000 chars]")
    slow = await tool({"url": f"{site}/slow"}, ctx_with(tmp_path, allow_private=True, timeout_seconds=0.3))
    assert not slow.ok and "did not answer within 0.3 s" in slow.content


async def test_private_addresses_are_refused_by_default(tmp_path: Path, site: str) -> None:
    tool = WebExtractTool()
    ctx = ctx_with(tmp_path)
    port = site.rsplit(":", 1)[1]
    for url in (
        f"{site}/article",
        f"http://localhost:{port}/article",
        f"http://[::1]:{port}/",
        "http://10.0.0.1/",
        # NAT64: a gateway on the way would deliver this to 169.254.169.254, the cloud metadata service.
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    ):
        result = await tool({"url": url}, ctx)
        assert not result.ok and "non-public address" in result.content and "allow_private" in result.content


async def test_a_redirect_to_a_private_address_is_refused_at_that_hop(site: str) -> None:
    # The test server stands for a public site: this policy lets 127.0.0.1 through and nothing else.
    def only_the_site(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return str(ip) == "127.0.0.1"

    settings = WebToolSettings()
    port = site.rsplit(":", 1)[1]
    page = await fetch(f"{site}/redirect", settings, allowed=only_the_site)
    assert page.title == "Release notes"
    for hidden in (f"http://127.0.0.2:{port}/article", f"http://[::1]:{port}/", "http://169.254.169.254/"):
        with pytest.raises(FetchRefused, match="non-public address"):
            await fetch(f"{site}/redirect?to={hidden}", settings, allowed=only_the_site)
    with pytest.raises(FetchRefused, match="only http and https"):
        await fetch(f"{site}/redirect?to=file:///etc/passwd", settings, allowed=only_the_site)
