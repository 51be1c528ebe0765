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
    readable = config.paths.readable_env_files()
    for path, mode in readable:
        name = path.relative_to(home)
        checks.append(Check(False, f"{name} has mode {mode:o}; it holds secrets", f"chmod 600 {path}"))
    if config.paths.env_file.exists() and not readable:
        checks.append(Check(True, ".env is private (0600)"))
    return checks


def _config_checks(config: LoadedConfig) -> list[Check]:
    checks = [Check(True, "configuration is valid")]
    for warning in config.warnings:
        # Every warning starts with the file it is about: `.env: ...`, `config.yaml: ...`.
        origin = warning.split(":", 1)[0]
        checks.append(Check(False, warning, f"fix or remove it in {config.paths.home / origin}"))
    return checks


def _store_check(config: LoadedConfig) -> Check:
    from hermes.store.errors import StoreError
    from hermes.store.schema import inspect

    if config.settings.store.url is not None:
        return _postgres_check(config.settings.store.url)
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


def _postgres_check(url: str) -> Check:
    from hermes.store.errors import StoreError
    from hermes.store.postgres import inspect, redacted

    where = redacted(url)
    try:
        found, latest = inspect(url)
    except StoreError as exc:
        return Check(
            False, f"store: {exc}", "check HERMES_DATABASE_URL (store.url) and that the server is up"
        )
    if found == 0:
        return Check(True, f"{where} reachable and empty (the gateway creates the schema)")
    if found < latest:
        return Check(True, f"{where} healthy (schema {found}; the gateway will migrate it to {latest})")
    return Check(True, f"{where} healthy (schema {found})")


async def _platform_checks(config: LoadedConfig) -> tuple[list[Check], list[str]]:
    """Each enabled platform's own checks, and the troubleshooting entries of those that failed one."""
    from hermes.gateway.runner import no_platform_fix
    from hermes.platforms.base import registered

    checks = []
    advice: list[str] = []
    platforms = registered()
    enabled = [cls for cls in platforms.values() if cls.enabled(config)]
    if not enabled:
        checks.append(Check(False, "no platform is enabled", no_platform_fix(config.paths.env_file)))
    for cls in enabled:
        found = [_located(check, config) for check in await cls.check(config)]
        checks += found
        if cls.troubleshooting and not all(check.ok for check in found):
            advice.append(f"If {cls.label or cls.name} still misbehaves:")
            advice += [f"  • {entry.symptom} {entry.remedy}" for entry in cls.troubleshooting]
    return checks, advice


def _located(check: Check, config: LoadedConfig) -> Check:
    """A platform's "set NAME=value" hint, told which file: the home may not be ~/.hermes."""
    if check.fix is not None and check.fix.startswith("set ") and " in " not in check.fix:
        return Check(check.ok, check.label, f"{check.fix} in {config.paths.env_file}")
    return check


async def _provider_check(config: LoadedConfig) -> Check:
    from hermes.agent.providers import create_provider
    from hermes.agent.providers.base import ProviderConfigError, ProviderError

    name = config.settings.model.provider
    try:
        provider = create_provider(config.settings)
    except ProviderConfigError as exc:
        home = config.paths.home
        return Check(False, f"provider {name}: {exc}", f"set it in {home / '.env'} or {home / 'config.yaml'}")
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
    from hermes.cli.common import EXIT_CONFIG
    from hermes.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"✗ {problem}")
        raise typer.Exit(EXIT_CONFIG) from None

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
