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
    return checks


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


async def _platform_checks(config: LoadedConfig) -> tuple[list[Check], list[str]]:
    """Each enabled platform's own checks, and the troubleshooting entries of those that failed one."""
    from hermes.platforms.base import registered

    checks = []
    advice: list[str] = []
    platforms = registered()
    enabled = [cls for cls in platforms.values() if cls.enabled(config)]
    if not enabled:
        names = ", ".join(cls.label or cls.name for cls in platforms.values())
        fix = f"run `hermes gateway setup`, or set one up ({names}; see `hermes config reference`)"
        checks.append(Check(False, "no platform is enabled", fix))
    for cls in enabled:
        found = await cls.check(config)
        checks += found
        if cls.troubleshooting and not all(check.ok for check in found):
            advice.append(f"If {cls.label or cls.name} still misbehaves:")
            advice += [f"  • {entry.symptom} {entry.remedy}" for entry in cls.troubleshooting]
    return checks, advice


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

    async def gather() -> tuple[list[Check], list[str]]:
        provider, (platforms, advice) = await asyncio.gather(
            _provider_check(config), _platform_checks(config)
        )
        return [provider, *platforms], advice

    remote, advice = asyncio.run(gather())
    checks = _home_checks(config) + _config_checks(config) + [_store_check(config)] + remote
    for check in checks:
        typer.echo(check.line())
    if advice:
        typer.echo("")
        for line in advice:
            typer.echo(line)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)
