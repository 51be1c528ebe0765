import ipaddress

import pytest
from yarl import URL

from hermes.agent.tools.base import ToolArgumentError, ToolContext
from hermes.agent.tools.web import FetchRefused, WebExtractTool, check_url, is_public
from hermes.agent.tools.web_html import html_to_text

PAGE = """<!doctype html><html><head><title>The  Title</title><style>body{}</style>
<script>var secret = 1;</script></head><body>
<nav><a href="/">Home</a></nav>
<h1>Hello <b>world</b></h1>
<p>Some   text
spread over lines, with <a href="https://example.org/doc">a link</a> and <code>inline()</code>.</p>
<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>
<pre>def f():
    return 1</pre>
<table><tr><th>name</th><th>age</th></tr><tr><td>Ann</td><td>31</td></tr></table>
<div hidden>invisible</div><div aria-hidden="true">also invisible</div>
<p>a &amp; b<br>next line</p><footer>© footer</footer>
</body></html>"""


def test_html_becomes_readable_markdownish_text() -> None:
    title, text = html_to_text(PAGE)
    assert title == "The Title"
    assert text == (
        "# Hello world\n\n"
        "Some text spread over lines, with [a link](https://example.org/doc) and `inline()`.\n\n"
        "- one\n- two\n\n"
        "1. first\n\n"
        "```\ndef f():\n    return 1\n```\n\n"
        "name | age\nAnn | 31\n\n"
        "a & b\nnext line"
    )


def test_broken_html_does_not_break_the_converter() -> None:
    assert html_to_text("<p>unclosed <b>bold <i>mess</p><div>") == ("", "unclosed bold mess")
    assert html_to_text("") == ("", "")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b:1::a00:1", False),
        ("64:ff9b::808:808", True),
        ("ff02::1", False),
    ],
)
def test_only_public_addresses_pass(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.org/", "only http and https"),
        ("http://127.0.0.1:8080/", "non-public address"),
        ("http://[::1]/", "non-public address"),
        ("http://169.254.169.254/latest/meta-data/", "non-public address"),
        ("http:///nohost", "names no host"),
    ],
)
def test_urls_refused_before_any_connection(url: str, message: str) -> None:
    with pytest.raises(FetchRefused, match=message):
        check_url(URL(url), is_public)


async def test_bad_arguments(ctx: ToolContext) -> None:
    tool = WebExtractTool()
    with pytest.raises(ToolArgumentError, match="missing required argument 'url'"):
        await tool({}, ctx)
    with pytest.raises(ToolArgumentError, match="'max_chars' must be between"):
        await tool({"url": "https://example.org", "max_chars": 10}, ctx)
    refused = await tool({"url": "gopher://example.org"}, ctx)
    assert not refused.ok and "only http and https" in refused.content
