"""Where everything lives inside HERMES_HOME."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HermesPaths:
    home: Path

    @classmethod
    def resolve(cls, environ: Mapping[str, str]) -> HermesPaths:
        configured = environ.get("HERMES_HOME")
        home = Path(configured).expanduser() if configured else Path.home() / ".hermes"
        return cls(home.absolute())

    @property
    def env_file(self) -> Path:
        return self.home / ".env"

    @property
    def env_dropins(self) -> Path:
        return self.home / ".env.d"

    @property
    def config_file(self) -> Path:
        return self.home / "config.yaml"

    @property
    def state_db(self) -> Path:
        return self.home / "state.db"

    @property
    def memories(self) -> Path:
        return self.home / "memories"

    @property
    def soul_file(self) -> Path:
        return self.home / "SOUL.md"

    @property
    def skills(self) -> Path:
        return self.home / "skills"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def workspace(self) -> Path:
        return self.home / "workspace"

    @property
    def media_cache(self) -> Path:
        return self.home / "cache" / "media"

    def platform_dir(self, platform: str) -> Path:
        return self.home / "platforms" / platform
