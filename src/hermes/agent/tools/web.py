"""The `web_extract` tool: fetch a URL and return its readable text, within size and time caps.

No SSRF to the operator's network: unless `tools.web.allow_private`, a host whose addresses are not all
public (private, loopback, link-local, multicast, reserved, shared, ...) is refused. The check is made by the
connection's own resolver, on the addresses it then connects to, so DNS cannot answer differently between
check and use; literal IPs are checked before connecting; redirects are followed by hand, each hop checked
the same way.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import Field
from yarl import URL

from hermes.agent.tools.base import (
    ToolContext,
    ToolResult,
    int_arg,
    register_tool,
    register_tool_settings,
    string_arg,
)
from hermes.agent.tools.web_html import html_to_text
from hermes.config.settings import Section

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]

MAX_REDIRECTS = 5
DEFAULT_MAX_CHARS = 20_000
MAX_CHARS = 50_000
_CHUNK = 65536
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml", "application/rss")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
USER_AGENT = "HermesAgent/1.0 (+web_extract)"


class WebToolSettings(Section):
    """`tools.web` in config.yaml: the limits of every tool that fetches from the web."""

    allow_private: Annotated[
        bool, Field(description="Let web tools reach private and loopback addresses.")
    ] = False
    timeout_seconds: Annotated[float, Field(gt=0, description="How long one web request may take.")] = 20.0
    max_bytes: Annotated[int, Field(ge=1024, description="Largest page or file fetched.")] = 2 * 1024 * 1024


class FetchRefused(Exception):
    """The URL may not be fetched (scheme, private address, too many redirects): a clear message."""


# NAT64 (RFC 6052): a gateway turns 64:ff9b::a.b.c.d into a.b.c.d, so the embedded address is what counts.
# The local-use prefix (RFC 8215) embeds at operator-chosen positions: refused whole.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def is_public(ip: IPAddress) -> bool:
    """Reachable on the public internet: not private, loopback, link-local, multicast, reserved, shared..."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        nat64 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        embedded = nat64 or ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public(embedded):
            return False
    return ip.is_global and not ip.is_multicast


def _allow_all(ip: IPAddress) -> bool:
    return True


def policy_for(settings: WebToolSettings) -> AddressPolicy:
    return _allow_all if settings.allow_private else is_public


class CheckedResolver(AbstractResolver):
    """Resolves through the system resolver and refuses the host if any address fails the policy."""

    def __init__(self, allowed: AddressPolicy) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            ip = ipaddress.ip_address(result["host"].split("%", 1)[0])
            if not self._allowed(ip):
                raise FetchRefused(
                    f"{host} resolves to {ip}, a private or otherwise non-public address; fetching it is "
                    "not allowed (tools.web.allow_private)"
                )
        return results

    async def close(self) -> None:
        await self._inner.close()


@dataclass(frozen=True)
class Page:
    url: str
    status: int
    content_type: str
    title: str
    text: str
    truncated: bool


def check_url(url: URL, allowed: AddressPolicy) -> None:
    if url.scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs can be fetched, not {url.scheme or 'a bare path'!r}")
    if not url.host:
        raise FetchRefused(f"{url} names no host")
    try:
        ip = ipaddress.ip_address(url.host.strip("[]").split("%", 1)[0])
    except ValueError:
        return
    if not allowed(ip):
        raise FetchRefused(
            f"{ip} is a private or otherwise non-public address; fetching it is not allowed "
            "(tools.web.allow_private)"
        )


async def fetch(raw_url: str, settings: WebToolSettings, *, allowed: AddressPolicy | None = None) -> Page:
    policy = allowed or policy_for(settings)
    try:
        url = URL(raw_url.strip())
    except ValueError as exc:
        raise FetchRefused(f"{raw_url!r} is not a valid URL: {exc}") from None
    timeout = aiohttp.ClientTimeout(total=settings.timeout_seconds)
    connector = aiohttp.TCPConnector(resolver=CheckedResolver(policy), use_dns_cache=False)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers={"User-Agent": USER_AGENT}
    ) as session:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, policy)
            async with session.get(url, allow_redirects=False) as response:
                location = response.headers.get("Location")
                if response.status in (301, 302, 303, 307, 308) and location:
                    url = url.join(URL(location))
                    continue
                return await _read_page(response, settings.max_bytes)
    raise FetchRefused(f"more than {MAX_REDIRECTS} redirects, starting at {raw_url}")


async def _read_page(response: aiohttp.ClientResponse, max_bytes: int) -> Page:
    content_type = response.content_type or "application/octet-stream"
    if not content_type.startswith(_TEXT_TYPES) and not content_type.endswith(("+json", "+xml")):
        raise FetchRefused(f"{response.url} is {content_type}, not text or HTML; it cannot be shown as text")
    body = bytearray()
    truncated = False
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            del body[max_bytes:]
            truncated = True
            break
    raw = bytes(body)
    charset = response.charset or _sniff_charset(raw) or "utf-8"
    try:
        decoded = raw.decode(charset, errors="replace")
    except LookupError:
        decoded = raw.decode("utf-8", errors="replace")
    title = ""
    if content_type in _HTML_TYPES:
        title, decoded = html_to_text(decoded)
    return Page(str(response.url), response.status, content_type, title, decoded.strip(), truncated)


def _sniff_charset(head: bytes) -> str | None:
    found = _META_CHARSET.search(head[:4096])
    return found.group(1).decode("ascii") if found else None


class WebExtractTool:
    name = "web_extract"
    reads_untrusted = True
    description = (
        "Fetch a web page (http or https) and return its readable text: HTML becomes Markdown-like text "
        "with headings, lists and links. Plain text and JSON come back as they are. Pages on private or "
        "local networks are refused."
    )
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "The address to fetch."},
            "max_chars": {
                "type": "integer",
                "minimum": 100,
                "maximum": MAX_CHARS,
                "description": f"At most this many characters of text (default {DEFAULT_MAX_CHARS}).",
            },
        },
        "required": ["url"],
    }

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        url = string_arg(args, "url")
        max_chars = int_arg(args, "max_chars", DEFAULT_MAX_CHARS, low=100, high=MAX_CHARS)
        settings = ctx.settings.section(WebToolSettings)
        try:
            page = await fetch(url, settings)
        except FetchRefused as exc:
            return ToolResult.error(str(exc))
        except aiohttp.ClientConnectorError as exc:
            refused = _refusal_inside(exc)
            message = str(refused) if refused else f"could not connect to {url}: {exc.os_error or exc}"
            return ToolResult.error(message)
        except TimeoutError:
            return ToolResult.error(f"{url} did not answer within {settings.timeout_seconds:g} s")
        except aiohttp.ClientError as exc:
            return ToolResult.error(f"fetching {url} failed: {type(exc).__name__}: {exc}")
        text = page.text
        notes = []
        if page.truncated:
            notes.append(f"the page is larger than {settings.max_bytes} bytes; only the start was read")
        if len(text) > max_chars:
            notes.append(f"text cut at {max_chars} of {len(text)} chars")
            text = text[:max_chars]
        header = [f"URL: {page.url}", f"Status: {page.status}"]
        if page.title:
            header.append(f"Title: {page.title}")
        body = "\n".join(header) + "\n\n" + (text or "(no text)")
        if notes:
            body += "\n\n[" + "; ".join(notes) + "]"
        return ToolResult(body, ok=page.status < 400, summary=f"{page.status} {page.url}")


def _refusal_inside(exc: BaseException) -> FetchRefused | None:
    """aiohttp may wrap what the resolver raised; find our refusal in the chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, FetchRefused):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


register_tool_settings("web", WebToolSettings)
register_tool(WebExtractTool())
