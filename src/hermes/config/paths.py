"""Where everything lives inside HERMES_HOME."""

from __future__ import annotations

import os
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

    def problem(self) -> str | None:
        """Why this home cannot be used, in one line naming the path, or None. Every command checks it first,
        so a home under a file, out of reach or owned by someone else ends in this line, not a traceback."""
        home = self.home
        probe, missing = home, home
        while True:
            try:
                found = probe.stat()
                break
            except (FileNotFoundError, NotADirectoryError):
                probe, missing = probe.parent, probe
            except PermissionError:
                return f"HERMES_HOME {home}: cannot reach it: permission denied on {probe.parent}"
            except OSError as exc:
                return f"HERMES_HOME {home}: cannot use it: {exc.strerror}"
        if probe != home:
            if not os.path.isdir(probe):
                return f"HERMES_HOME {home}: {probe} is a file, so no directory can be created under it"
            # Only trying tells: root passes every access() check, yet cannot create anything in /proc.
            try:
                missing.mkdir(mode=0o700)
                missing.rmdir()
            except OSError as exc:
                return f"HERMES_HOME {home} does not exist and cannot be created in {probe}: {exc.strerror}"
            return None
        if not os.path.isdir(home):
            return f"HERMES_HOME {home} is a file, not a directory"
        if not os.access(home, os.R_OK | os.W_OK | os.X_OK):
            mode = found.st_mode & 0o777
            return (
                f"HERMES_HOME {home}: permission denied (owned by uid {found.st_uid}, mode {mode:o}); "
                "run as its owner or set HERMES_HOME to a home of your own"
            )
        return None

    def readable_env_files(self) -> list[tuple[Path, int]]:
        """`.env` and `.env.d/*.env` files others may read, with their modes: they hold secrets."""
        found = []
        dropins = sorted(self.env_dropins.glob("*.env")) if self.env_dropins.is_dir() else []
        for path in (self.env_file, *dropins):
            try:
                mode = path.stat().st_mode & 0o777
            except OSError:
                continue
            if mode & 0o077:
                found.append((path, mode))
        return found

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
