"""Platforms that misbehave on purpose, loaded by tests through `gateway.plugins`."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from hermes.platforms.base import CredentialsRejected, HubPort, register
from hermes.testing import TestPlatform

if TYPE_CHECKING:
    from hermes.config import LoadedConfig


class _PluginPlatform(TestPlatform):
    @classmethod
    def enabled(cls, config: LoadedConfig) -> bool:
        return cls.__module__ in config.settings.gateway.plugins


@register
class FlakyPlatform(_PluginPlatform):
    """Refuses to connect the first `failures` times."""

    name: ClassVar[str] = "flaky"
    failures: ClassVar[int] = 3
    attempts: ClassVar[int] = 0

    async def start(self, hub: HubPort) -> None:
        type(self).attempts += 1
        if type(self).attempts <= self.failures:
            raise ConnectionError("server unreachable")
        await super().start(hub)


@register
class RejectedPlatform(_PluginPlatform):
    """Its server always refuses the credentials."""

    name: ClassVar[str] = "rejected"
    attempts: ClassVar[int] = 0

    async def start(self, hub: HubPort) -> None:
        type(self).attempts += 1
        raise CredentialsRejected("M_UNKNOWN_TOKEN: invalid access token")
