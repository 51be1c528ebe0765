"""Running `hermes` as an unprivileged user: the suite runs as root, for whom no permission check fails.

The venv's interpreter may sit under root's private home, so the command runs on the system's Python of
the same version with the venv's site-packages added (the project is installed there in editable mode).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping

NOBODY = 65534

_LAUNCH = "import site, sys; site.addsitedir(sys.argv.pop(1)); sys.argv[0] = 'hermes'; "
_LAUNCH += "from hermes.cli import main; main()"


def _system_python() -> str:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if found is None:
        raise RuntimeError(f"no system {version} for running hermes as another user")
    return found


def hermes_as_nobody(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`hermes ARGS` as uid/gid 65534 with no supplementary groups; stdout and stderr together."""
    command = [
        "setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        _system_python(),
        "-c",
        _LAUNCH,
        sysconfig.get_paths()["purelib"],
        *args,
    ]
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent", **env}
    return subprocess.run(
        command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60
    )
