"""`hermes gateway install|uninstall|start|stop|restart`: the files written and the manager's commands.

The service manager is never called for real: units go to a temporary HOME or `--unit-dir`, and
`service.run_command` is replaced by a recorder.
"""

from __future__ import annotations

import plistlib
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hermes.cli import service
from hermes.cli.app import app


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    recorded: list[list[str]] = []

    def record(argv: list[str]) -> subprocess.CompletedProcess[str]:
        recorded.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(service, "run_command", record)
    return recorded


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "hermes home"
    home.mkdir()
    return {"HERMES_HOME": str(home), "HOME": str(tmp_path / "user")}


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["gateway", *args], env=env)
    return result.exit_code, result.output


def test_a_user_unit_in_a_given_directory_and_no_manager_call(
    tmp_path: Path, env: dict[str, str], calls: list[list[str]]
) -> None:
    code, out = invoke(env, "install", "--manager", "systemd", "--unit-dir", str(tmp_path / "units"))
    assert code == 0, out
    unit = (tmp_path / "units" / "hermes-gateway.service").read_text()
    assert unit in out
    home = env["HERMES_HOME"]
    lines = unit.splitlines()
    exec_start = next(line for line in lines if line.startswith("ExecStart="))
    assert exec_start.endswith(" gateway run") and "hermes" in exec_start
    assert f'Environment="HERMES_HOME={home}"' in lines
    # The daemon reads .env itself, below .env.d; loaded by systemd it would override the drop-ins.
    assert not any(line.startswith("EnvironmentFile=") for line in lines)
    assert "Restart=on-failure" in lines and "RestartPreventExitStatus=78" in lines
    assert "TimeoutStopSec=40" in lines
    assert "WantedBy=default.target" in lines
    assert not any(line.startswith(("User=", "After=")) for line in lines)
    assert calls == []
    assert "the manager was not told" in out


def test_a_system_unit_runs_as_the_installing_user(
    tmp_path: Path, env: dict[str, str], calls: list[list[str]]
) -> None:
    code, out = invoke(env, "install", "--system", "--manager", "systemd", "--unit-dir", str(tmp_path))
    assert code == 0, out
    lines = (tmp_path / "hermes-gateway.service").read_text().splitlines()
    assert any(line.startswith("User=") and len(line) > 5 for line in lines)
    assert "After=network-online.target" in lines and "WantedBy=multi-user.target" in lines


def test_install_into_the_users_systemd_directory_tells_systemd(
    env: dict[str, str], calls: list[list[str]]
) -> None:
    code, out = invoke(env, "install", "--manager", "systemd", "--name", "hermes-work")
    assert code == 0, out
    unit = Path(env["HOME"]) / ".config" / "systemd" / "user" / "hermes-work.service"
    assert unit.is_file()
    assert calls == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "hermes-work.service"],
    ]
    assert "$ systemctl --user enable hermes-work.service" in out
    assert "loginctl enable-linger" in out


def test_start_stop_restart_and_uninstall(env: dict[str, str], calls: list[list[str]]) -> None:
    assert invoke(env, "install", "--manager", "systemd")[0] == 0
    calls.clear()
    for action in ("start", "stop", "restart"):
        code, out = invoke(env, action, "--manager", "systemd")
        assert code == 0, out
    code, out = invoke(env, "uninstall", "--manager", "systemd")
    assert code == 0, out
    assert calls == [
        ["systemctl", "--user", "start", "hermes-gateway.service"],
        ["systemctl", "--user", "stop", "hermes-gateway.service"],
        ["systemctl", "--user", "restart", "hermes-gateway.service"],
        ["systemctl", "--user", "disable", "--now", "hermes-gateway.service"],
        ["systemctl", "--user", "daemon-reload"],
    ]
    assert not (Path(env["HOME"]) / ".config" / "systemd" / "user" / "hermes-gateway.service").exists()


def test_commands_on_a_service_that_is_not_installed(env: dict[str, str], calls: list[list[str]]) -> None:
    code, out = invoke(env, "start", "--manager", "systemd")
    assert code == 1 and "Not installed" in out and "hermes gateway install" in out
    code, out = invoke(env, "uninstall", "--manager", "systemd")
    assert code == 1 and "Not installed" in out
    assert calls == []


def test_a_failing_manager_command_is_shown_and_fails(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 1, "", "Failed to connect to bus: No medium found")

    monkeypatch.setattr(service, "run_command", refuse)
    code, out = invoke(env, "install", "--manager", "systemd")
    assert code == 1
    assert "Failed to connect to bus" in out and "systemctl failed (exit 1)" in out


def test_a_missing_systemctl_is_explained(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(argv: list[str]) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(argv[0])

    monkeypatch.setattr(service, "run_command", missing)
    code, out = invoke(env, "install", "--manager", "systemd")
    assert code == 1 and "systemctl is not available here" in out


def test_a_launchd_plist(tmp_path: Path, env: dict[str, str], calls: list[list[str]]) -> None:
    code, out = invoke(env, "install", "--manager", "launchd", "--unit-dir", str(tmp_path))
    assert code == 0, out
    plist = plistlib.loads((tmp_path / "hermes-gateway.plist").read_bytes())
    home = env["HERMES_HOME"]
    assert plist["Label"] == "hermes-gateway"
    assert plist["ProgramArguments"][-2:] == ["gateway", "run"]
    assert plist["EnvironmentVariables"] == {"HERMES_HOME": home}
    assert plist["KeepAlive"] == {"SuccessfulExit": False} and plist["RunAtLoad"] is True
    assert plist["StandardErrorPath"] == f"{home}/logs/launchd.err.log"
    assert calls == []


def test_launchd_commands(env: dict[str, str], calls: list[list[str]]) -> None:
    assert invoke(env, "install", "--manager", "launchd")[0] == 0
    plist = Path(env["HOME"]) / "Library" / "LaunchAgents" / "hermes-gateway.plist"
    assert plist.is_file() and calls == []
    assert invoke(env, "start", "--manager", "launchd")[0] == 0
    assert invoke(env, "restart", "--manager", "launchd")[0] == 0
    assert calls[0][:2] == ["launchctl", "bootstrap"] and calls[0][-1] == str(plist)
    assert calls[1][:3] == ["launchctl", "kickstart", "-k"] and calls[1][-1].endswith("/hermes-gateway")


def test_an_unknown_manager_is_refused(env: dict[str, str], calls: list[list[str]]) -> None:
    code, out = invoke(env, "install", "--manager", "upstart")
    assert code == 2 and "not systemd or launchd" in out


def test_a_broken_configuration_does_not_keep_the_service_from_stopping(
    env: dict[str, str], calls: list[list[str]]
) -> None:
    assert invoke(env, "install", "--manager", "systemd")[0] == 0
    Path(env["HERMES_HOME"], ".env").write_text("MATRIX_REQUIRE_MENTION=sometimes\n")
    calls.clear()
    code, out = invoke(env, "stop", "--manager", "systemd")
    assert code == 0, out
    assert "warning: the configuration does not load (config error: matrix.require_mention" in out
    assert calls == [["systemctl", "--user", "stop", "hermes-gateway.service"]]
