"""`hermes gateway install|uninstall|start|stop|restart`: the gateway as a service of the system's manager.

systemd (Linux): a user unit in `~/.config/systemd/user/` (default) or, with `--system`, a system unit in
`/etc/systemd/system/` that runs as the installing user. launchd (macOS): a LaunchAgent plist (or, with
`--system`, a LaunchDaemon). The unit runs `hermes gateway run` in the foreground with this HERMES_HOME,
restarts it on failure — but not on a configuration error (exit 78), which a restart cannot fix.

`--unit-dir` writes the file somewhere else and leaves the service manager alone (for packaging, and for
tests); the manager's commands go through `run_command`, the one place that starts a process.
"""

from __future__ import annotations

import getpass
import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeGuard, get_args

import typer

from hermes.cli.common import EXIT_CONFIG, EXIT_FAILURE

Manager = Literal["systemd", "launchd"]
DEFAULT_NAME = "hermes-gateway"


def run_command(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=False, capture_output=True, text=True)


@dataclass(frozen=True)
class Service:
    name: str
    manager: Manager
    system: bool
    home: Path
    program: tuple[str, ...]
    unit_dir: Path
    custom_dir: bool
    run_as: str
    stop_seconds: int = 40

    @property
    def path(self) -> Path:
        suffix = ".service" if self.manager == "systemd" else ".plist"
        return self.unit_dir / f"{self.name}{suffix}"

    def text(self) -> str:
        return systemd_unit(self) if self.manager == "systemd" else launchd_plist(self)

    def commands(self, action: str) -> list[list[str]]:
        """The manager's commands for install, uninstall (before the file goes), reload (after), start,
        stop or restart."""
        if self.manager == "systemd":
            systemctl = ["systemctl"] if self.system else ["systemctl", "--user"]
            unit = f"{self.name}.service"
            return {
                "install": [[*systemctl, "daemon-reload"], [*systemctl, "enable", unit]],
                "uninstall": [[*systemctl, "disable", "--now", unit]],
                "reload": [[*systemctl, "daemon-reload"]],
                "start": [[*systemctl, "start", unit]],
                "stop": [[*systemctl, "stop", unit]],
                "restart": [[*systemctl, "restart", unit]],
            }[action]
        domain = "system" if self.system else f"gui/{os.getuid()}"
        target = f"{domain}/{self.name}"
        return {
            "install": [],
            "uninstall": [["launchctl", "bootout", target]],
            "reload": [],
            "start": [["launchctl", "bootstrap", domain, str(self.path)]],
            "stop": [["launchctl", "bootout", target]],
            "restart": [["launchctl", "kickstart", "-k", target]],
        }[action]


def _systemd_quote(word: str) -> str:
    if word and all(c.isalnum() or c in "/._-:=@+," for c in word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(service: Service) -> str:
    home = str(service.home)
    exec_start = " ".join(_systemd_quote(word) for word in service.program)
    unit = [
        "[Unit]",
        f"Description=Hermes gateway ({home})",
    ]
    if service.system:
        unit += ["After=network-online.target", "Wants=network-online.target"]
    unit += [
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={exec_start}",
        # No EnvironmentFile= for .env: the daemon reads it itself, and as process environment its values
        # would override the operator's .env.d drop-ins.
        f"Environment={_systemd_quote('HERMES_HOME=' + home)}",
        f"WorkingDirectory={_systemd_quote(home)}",
        "Restart=on-failure",
        "RestartSec=5",
        "# 78: the configuration is wrong; restarting cannot fix it (see `journalctl` for the key).",
        f"RestartPreventExitStatus={EXIT_CONFIG}",
        f"TimeoutStopSec={service.stop_seconds}",
    ]
    if service.system:
        unit += [f"User={service.run_as}"]
    unit += [
        "",
        "[Install]",
        f"WantedBy={'multi-user.target' if service.system else 'default.target'}",
    ]
    return "\n".join(unit) + "\n"


def launchd_plist(service: Service) -> str:
    logs = service.home / "logs"
    document: dict[str, object] = {
        "Label": service.name,
        "ProgramArguments": list(service.program),
        "EnvironmentVariables": {"HERMES_HOME": str(service.home)},
        "WorkingDirectory": str(service.home),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 5,
        "ExitTimeOut": service.stop_seconds,
        "StandardOutPath": str(logs / "launchd.out.log"),
        "StandardErrorPath": str(logs / "launchd.err.log"),
    }
    if service.system:
        document["UserName"] = service.run_as
    return plistlib.dumps(document, sort_keys=False).decode()


def hermes_program() -> tuple[str, ...]:
    """The command line that starts the daemon: this installation's `hermes` script, else `python -m
    hermes`; either way it reads `hermes gateway run`, which process managers look for."""
    script = Path(sys.executable).with_name("hermes")
    if script.is_file():
        return (str(script), "gateway", "run")
    found = shutil.which("hermes")
    if found:
        return (str(Path(found).resolve()), "gateway", "run")
    return (sys.executable, "-m", "hermes", "gateway", "run")


def _default_manager() -> Manager:
    return "launchd" if sys.platform == "darwin" else "systemd"


def _default_dir(manager: Manager, system: bool) -> Path:
    if manager == "systemd":
        return Path("/etc/systemd/system") if system else Path.home() / ".config" / "systemd" / "user"
    return Path("/Library/LaunchDaemons") if system else Path.home() / "Library" / "LaunchAgents"


def _home_and_grace() -> tuple[Path, float]:
    """The home and the shutdown grace; a configuration that does not load must not keep anyone from
    stopping or reinstalling the service, so its problems are only reported."""
    from hermes.config import ConfigError, load_config
    from hermes.config.settings import GatewaySettings
    from hermes.config.writer import home_paths

    try:
        config = load_config()
    except ConfigError as exc:
        typer.echo(f"warning: the configuration does not load ({exc.problems[0]})", err=True)
        return home_paths().home, GatewaySettings().shutdown_grace_seconds
    return config.paths.home, config.settings.gateway.shutdown_grace_seconds


def _is_manager(value: str) -> TypeGuard[Manager]:
    return value in get_args(Manager)


def _service(name: str, system: bool, manager: str | None, unit_dir: Path | None) -> Service:
    chosen = manager or _default_manager()
    if not _is_manager(chosen):
        raise typer.BadParameter(f"{chosen!r} is not systemd or launchd", param_hint="--manager")
    home, grace = _home_and_grace()
    return Service(
        name=name,
        manager=chosen,
        system=system,
        home=home,
        program=hermes_program(),
        unit_dir=(unit_dir or _default_dir(chosen, system)).absolute(),
        custom_dir=unit_dir is not None,
        run_as=getpass.getuser(),
        stop_seconds=int(grace) + 20,
    )


def _run(service: Service, action: str, *, tolerant: bool = False) -> None:
    """The manager's commands for `action`, echoed with their output; the first failure stops here
    unless `tolerant` (when undoing, a service that is not loaded is no reason to stop)."""
    for argv in service.commands(action):
        typer.echo(f"$ {shlex.join(argv)}")
        try:
            result = run_command(argv)
        except FileNotFoundError:
            typer.echo(
                f"{argv[0]} is not available here; is {service.manager} the service manager?", err=True
            )
            if tolerant:
                continue
            raise typer.Exit(EXIT_FAILURE) from None
        output = (result.stdout + result.stderr).strip()
        if output:
            typer.echo(output)
        if result.returncode != 0:
            typer.echo(f"{argv[0]} failed (exit {result.returncode}).", err=True)
            if not tolerant:
                raise typer.Exit(EXIT_FAILURE)


_NAME = typer.Option(DEFAULT_NAME, "--name", help="The service's name (one per HERMES_HOME).")
_SYSTEM = typer.Option(False, "--system", help="A system-wide service (needs root), run as you.")
_MANAGER = typer.Option(None, "--manager", help="systemd or launchd (default: this system's).")
_UNIT_DIR = typer.Option(
    None, "--unit-dir", help="Write the unit here and leave the service manager alone.", file_okay=False
)


def install(
    name: str = _NAME,
    system: bool = _SYSTEM,
    manager: str | None = _MANAGER,
    unit_dir: Path | None = _UNIT_DIR,
) -> None:
    """Install the gateway as a service: write the unit (or plist) and print it."""
    service = _service(name, system, manager, unit_dir)
    text = service.text()
    existed = service.path.exists()
    try:
        service.unit_dir.mkdir(parents=True, exist_ok=True)
        service.path.write_text(text, encoding="utf-8")
    except OSError as exc:
        hint = " (a system service needs root: sudo)" if system else ""
        typer.echo(f"cannot write {service.path}: {exc.strerror}{hint}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    typer.echo(f"{'Replaced' if existed else 'Wrote'} {service.path}:\n")
    typer.echo(text)
    if service.custom_dir:
        typer.echo(f"{service.unit_dir} is not where {service.manager} looks; the manager was not told.")
        return
    _run(service, "install")
    typer.echo("Start it with `hermes gateway start`; `hermes gateway status` shows how it is doing.")
    if service.manager == "systemd" and not system:
        typer.echo(
            "A user service stops when you log out, unless lingering is on: "
            f"`loginctl enable-linger {service.run_as}`."
        )


def uninstall(
    name: str = _NAME,
    system: bool = _SYSTEM,
    manager: str | None = _MANAGER,
    unit_dir: Path | None = _UNIT_DIR,
) -> None:
    """Stop the service and remove its unit (or plist)."""
    service = _service(name, system, manager, unit_dir)
    if not service.path.exists():
        typer.echo(f"Not installed: {service.path} does not exist.", err=True)
        raise typer.Exit(EXIT_FAILURE)
    if not service.custom_dir:
        _run(service, "uninstall", tolerant=True)
    try:
        service.path.unlink()
    except OSError as exc:
        typer.echo(f"cannot remove {service.path}: {exc.strerror}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    typer.echo(f"Removed {service.path}.")
    if not service.custom_dir:
        _run(service, "reload", tolerant=True)


def _control(action: str, name: str, system: bool, manager: str | None) -> None:
    service = _service(name, system, manager, None)
    if not service.path.exists():
        typer.echo(f"Not installed ({service.path} does not exist): run `hermes gateway install`.", err=True)
        raise typer.Exit(EXIT_FAILURE)
    _run(service, action)


def start(name: str = _NAME, system: bool = _SYSTEM, manager: str | None = _MANAGER) -> None:
    """Start the installed service."""
    _control("start", name, system, manager)


def stop(name: str = _NAME, system: bool = _SYSTEM, manager: str | None = _MANAGER) -> None:
    """Stop the installed service (runs in flight get the shutdown grace period)."""
    _control("stop", name, system, manager)


def restart(name: str = _NAME, system: bool = _SYSTEM, manager: str | None = _MANAGER) -> None:
    """Restart the installed service, e.g. after `hermes gateway setup` changed the settings."""
    _control("restart", name, system, manager)
