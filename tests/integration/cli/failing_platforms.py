"""Platforms that never connect, loaded by the status tests through `gateway.plugins`."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from hermes.platforms.base import CredentialsRejected, HubPort, register
from hermes.testing import TestPlatform

if TYPE_CHECKING:
    from hermes.config import LoadedConfig


class _Plugin(TestPlatform):
    @classmethod
    def enabled(cls, config: LoadedConfig) -> bool:
        return cls.__module__ in config.settings.gateway.plugins


@register
class UnreachablePlatform(_Plugin):
    """Its server never answers: the gateway keeps retrying."""

    name: ClassVar[str] = "unreachable"

    async def start(self, hub: HubPort) -> None:
        raise ConnectionError("server unreachable")


@register
class RefusingPlatform(_Plugin):
    """Its server refuses the credentials: the gateway stops it until restart."""

    name: ClassVar[str] = "refusing"

    async def start(self, hub: HubPort) -> None:
        raise CredentialsRejected("M_UNKNOWN_TOKEN: invalid access token")
