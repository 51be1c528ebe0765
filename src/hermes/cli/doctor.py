"""`hermes doctor`: one line per check, ✓ or ✗, and for each ✗ what to do about it."""

from __future__ import annotations

import asyncio
import stat
from typing import TYPE_CHECKING

import typer

from hermes.platforms.base import Check

if TYPE_CHECKING:
    from hermes.config import LoadedConfig


def _home_checks(config: LoadedConfig) -> list[Check]:
    home = config.paths.home
    if not home.is_dir():
        return [Check(False, f"home {home} does not exist", "run `hermes gateway setup`, or create it")]
    checks = [Check(True, f"home {home}")]
    mode = stat.S_IMODE(home.stat().st_mode)
    if mode & 0o022:
        checks.append(Check(False, f"home is writable by others (mode {mode:o})", f"chmod 700 {home}"))
    env_file = config.paths.env_file
    if env_file.exists():
        env_mode = stat.S_IMODE(env_file.stat().st_mode)
        if env_mode == 0o600:
            checks.append(Check(True, ".env is private (0600)"))
        else:
            checks.append(
                Check(False, f".env has mode {env_mode:o}; it holds secrets", f"chmod 600 {env_file}")
            )
    checks.extend(_dropin_checks(config))
    return checks


def _dropin_checks(config: LoadedConfig) -> list[Check]:
    """`.env.d/*.env` hold secrets as much as `.env` does: only the owner may read them."""
    dropins = config.paths.env_dropins
    files = sorted(dropins.glob("*.env")) if dropins.is_dir() else []
    if not files:
        return []
    modes = {path: stat.S_IMODE(path.stat().st_mode) for path in files}
    exposed = [(path, mode) for path, mode in modes.items() if mode & 0o077]
    if not exposed:
        return [Check(True, f".env.d: {len(files)} drop-in(s), all private")]
    return [
        Check(False, f".env.d/{path.name} has mode {mode:o}; it may hold secrets", f"chmod 600 {path}")
        for path, mode in exposed
    ]


def _config_checks(config: LoadedConfig) -> list[Check]:
    checks = [Check(True, "configuration is valid")]
    checks += [
        Check(False, warning, "fix or remove those entries in config.yaml") for warning in config.warnings
    ]
    return checks


def _store_check(config: LoadedConfig) -> Check:
    from hermes.store.errors import StoreError
    from hermes.store.schema import inspect

    path = config.paths.state_db
    if not path.exists():
        return Check(True, f"state.db not created yet (the gateway creates {path})")
    try:
        found, latest = inspect(path)
    except StoreError as exc:
        return Check(False, f"state.db: {exc}", "see the message; the file was not changed")
    if found < latest:
        return Check(True, f"state.db healthy (schema {found}; the gateway will migrate it to {latest})")
    return Check(True, f"state.db healthy (schema {found})")


async def _platform_checks(config: LoadedConfig) -> list[Check]:
    from hermes.gateway.runner import load_plugins
    from hermes.platforms.base import registered

    load_plugins(config.settings.gateway.plugins)
    checks = []
    enabled = [cls for cls in registered().values() if cls.enabled(config)]
    if not enabled:
        checks.append(
            Check(False, "no platform is enabled", "configure Matrix, Mattermost or API_SERVER_ENABLED")
        )
    for cls in enabled:
        checks += await cls.check(config)
    return checks


async def _provider_check(config: LoadedConfig) -> Check:
    from hermes.agent.providers import create_provider
    from hermes.agent.providers.base import ProviderConfigError, ProviderError

    name = config.settings.model.provider
    try:
        provider = create_provider(config.settings)
    except ProviderConfigError as exc:
        return Check(False, f"provider {name}: {exc}", "set it in ~/.hermes/.env or config.yaml")
    try:
        async with asyncio.timeout(10):
            return Check(True, f"provider {name}: {await provider.check()}")
    except ProviderError as exc:
        return Check(False, f"provider {name}: {exc}", "check the key, model.base_url and the network")
    except TimeoutError:
        return Check(False, f"provider {name}: no answer within 10 s", "check model.base_url and the network")
    finally:
        await provider.close()


def doctor() -> None:
    """Check the installation: home, .env permissions, configuration, state.db, provider and platforms."""
    from hermes.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"✗ {problem}")
        raise typer.Exit(1) from None

    async def gather() -> list[Check]:
        remote = await asyncio.gather(_provider_check(config), _platform_checks(config))
        return [remote[0], *remote[1]]

    checks = _home_checks(config) + _config_checks(config) + [_store_check(config)] + asyncio.run(gather())
    for check in checks:
        typer.echo(check.line())
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
