"""Serving the dashboard until SIGTERM or SIGINT, then closing cleanly (exit status 0)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import webbrowser

from aiohttp import web

from hermes.config import LoadedConfig
from hermes.dashboard.app import create_app
from hermes.dashboard.context import Dashboard
from hermes.dashboard.security import Guard, is_loopback

log = logging.getLogger(__name__)


class RefusedBind(Exception):
    """The dashboard must not listen there as configured."""


def check_bind(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise RefusedBind(
            f"refusing to serve the dashboard on {host}, which is not loopback, without a token: set "
            "HERMES_DASHBOARD_TOKEN in HERMES_HOME/.env (every page will ask for it), or bind 127.0.0.1 "
            "and reach it through an SSH tunnel"
        )


async def serve(config: LoadedConfig, host: str, port: int, *, tui: bool, open_browser: bool) -> None:
    token = config.settings.dashboard.token
    check_bind(host, token)
    state = Dashboard.create(config, tui=tui)
    app = create_app(state, Guard(token, loopback_only=is_loopback(host)))
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        url = f"http://{'localhost' if is_loopback(host) else host}:{port}/"
        log.info("dashboard at %s", url)
        print(f"Hermes dashboard at {url} (Ctrl-C to stop)", flush=True)
        if open_browser:
            with contextlib.suppress(webbrowser.Error):
                await asyncio.to_thread(webbrowser.open, url)
        await stop.wait()
    finally:
        await runner.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
