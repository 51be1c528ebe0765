"""A real Synapse homeserver run as a child process, and its user accounts.

Everything here is blocking on purpose: servers are started from session fixtures, outside any event
loop. The async entry points (``register``, ``login``, ``admin``) push the blocking call to a thread so
they can be awaited from a test while a bot runs on the same loop.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import hmac
import itertools
import json
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HARNESS_DIR = Path(__file__).resolve().parent
SERVER_NAME = "localhost"
# ~1.2 s on an idle machine; the bound is generous because the whole suite shares 2 cores.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
_POLL_INTERVAL_S = 0.05
_PORT_ATTEMPTS = 3
_LOG_TAIL_LINES = 40
_PR_SET_PDEATHSIG = 1

# Loaded in the parent: the child between fork and exec must not import anything.
_libc = ctypes.CDLL(None, use_errno=True)
# An http_proxy in the environment must never see loopback traffic.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the thread that started it dies."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class SynapseStartError(RuntimeError):
    """Synapse did not come up; the message carries its output and log tail."""


class SynapseRequestError(RuntimeError):
    """A harness request to Synapse (registration, login) was refused."""

    def __init__(self, what: str, status: int, body: Any) -> None:
        super().__init__(f"{what} failed: HTTP {status} {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class MatrixAccount:
    user_id: str
    access_token: str
    device_id: str
    password: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def render_config(data_dir: Path, port: int, secret: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    template = (HARNESS_DIR / "homeserver.yaml.template").read_text()
    text = template.replace("{d}", str(data_dir)).replace("{port}", str(port)).replace("{secret}", secret)
    return deep_merge(yaml.safe_load(text), overrides)


def http_json(
    method: str, url: str, body: Mapping[str, Any] | None = None, token: str | None = None
) -> tuple[int, Any]:
    """One blocking JSON request; HTTP errors come back as (status, body) rather than raising."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=30) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    try:
        return status, json.loads(payload) if payload else {}
    except ValueError:
        return status, payload.decode(errors="replace")


class SynapseServer:
    """One Synapse process with its own data directory, port and registration secret."""

    def __init__(self, data_dir: Path, overrides: Mapping[str, Any] | None = None) -> None:
        self.data_dir = data_dir
        self.overrides: Mapping[str, Any] = overrides or {}
        self.server_name = SERVER_NAME
        self.port = 0
        self.startup_seconds = 0.0
        self.exit_code: int | None = None
        self._secret = secrets.token_hex(16)
        self._process: subprocess.Popen[bytes] | None = None
        self._localparts = itertools.count(1)
        self._admin: MatrixAccount | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "homeserver.log"

    @property
    def output_path(self) -> Path:
        return self.data_dir / "output.log"

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_template = (HARNESS_DIR / "log.yaml.template").read_text()
        (self.data_dir / "log.yaml").write_text(log_template.replace("{d}", str(self.data_dir)))
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            self.port = free_port()
            config = render_config(self.data_dir, self.port, self._secret, self.overrides)
            (self.data_dir / "homeserver.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
            self.log_path.unlink(missing_ok=True)
            started = time.monotonic()
            self._spawn()
            if self._wait_until_ready():
                self.startup_seconds = time.monotonic() - started
                return
            # Another process may have taken the port between free_port() and Synapse's bind.
            if attempt < _PORT_ATTEMPTS and "Address already in use" in self._failure_details():
                continue
            raise SynapseStartError(self._failure_report(attempt))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is not None:
            self.exit_code = process.returncode
            return
        process.send_signal(signal.SIGTERM)
        try:
            self.exit_code = process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            self.exit_code = process.wait()

    def _spawn(self) -> None:
        with self.output_path.open("wb") as output:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "synapse.app.homeserver",
                    "-c",
                    str(self.data_dir / "homeserver.yaml"),
                ],
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    def _wait_until_ready(self) -> bool:
        """True once /versions answers; False if the process exits first; raises on the deadline."""
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        url = f"{self.base_url}/_matrix/client/versions"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with _opener.open(url, timeout=1) as response:
                    if response.status == 200:
                        return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(_POLL_INTERVAL_S)
        self.stop()
        raise SynapseStartError(
            f"Synapse did not answer {url} within {START_TIMEOUT_S:.0f} s\n{self._failure_details()}"
        )

    def _failure_report(self, attempt: int) -> str:
        code = None if self._process is None else self._process.poll()
        header = f"Synapse exited with code {code} (attempt {attempt}, port {self.port})"
        return f"{header}\n{self._failure_details()}"

    def _failure_details(self) -> str:
        return (
            f"--- output ({self.output_path}) ---\n{self._output_tail()}\n"
            f"--- log tail ({self.log_path}) ---\n{self.log_tail()}"
        )

    def _output_tail(self) -> str:
        return _tail(self.output_path)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        return _tail(self.log_path, lines)

    # -- accounts --------------------------------------------------------------------------------

    def register_sync(
        self,
        localpart: str | None = None,
        password: str | None = None,
        admin: bool = False,
        *,
        prefix: str = "user",
    ) -> MatrixAccount:
        """Shared-secret registration; without a localpart, a fresh unique one from ``prefix``."""
        localpart = localpart or f"{prefix}-{next(self._localparts)}-{secrets.token_hex(2)}"
        password = password or secrets.token_urlsafe(12)
        url = f"{self.base_url}/_synapse/admin/v1/register"
        status, body = http_json("GET", url)
        if status != 200:
            raise SynapseRequestError("getting a registration nonce", status, body)
        nonce = body["nonce"]
        mac = hmac.new(self._secret.encode(), digestmod=hashlib.sha1)
        role = b"admin" if admin else b"notadmin"
        mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(), role]))
        request = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        status, body = http_json("POST", url, request)
        if status != 200:
            raise SynapseRequestError(f"registering {localpart!r}", status, body)
        return MatrixAccount(body["user_id"], body["access_token"], body["device_id"], password)

    async def register(
        self,
        localpart: str | None = None,
        password: str | None = None,
        admin: bool = False,
        *,
        prefix: str = "user",
    ) -> MatrixAccount:
        return await asyncio.to_thread(self.register_sync, localpart, password, admin, prefix=prefix)

    def login_sync(self, account: MatrixAccount, device_id: str | None = None) -> MatrixAccount:
        """A password login: a new access token, on a new device unless ``device_id`` is given."""
        request: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": account.user_id},
            "password": account.password,
        }
        if device_id is not None:
            request["device_id"] = device_id
        status, body = http_json("POST", f"{self.base_url}/_matrix/client/v3/login", request)
        if status != 200:
            raise SynapseRequestError(f"logging in {account.user_id}", status, body)
        return MatrixAccount(body["user_id"], body["access_token"], body["device_id"], account.password)

    async def login(self, account: MatrixAccount, device_id: str | None = None) -> MatrixAccount:
        return await asyncio.to_thread(self.login_sync, account, device_id)

    async def admin(self) -> MatrixAccount:
        """One server admin, registered on first use and shared by the tests that need one."""
        if self._admin is None:
            self._admin = await self.register(admin=True, prefix="admin")
        return self._admin


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no file)"


class SynapseFactory:
    """Starts Synapse servers on demand, one per distinct set of config overrides, and stops them all."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._servers: dict[str, SynapseServer] = {}

    def start(self, overrides: Mapping[str, Any] | None = None) -> SynapseServer:
        key = json.dumps(overrides or {}, sort_keys=True)
        server = self._servers.get(key)
        if server is None:
            server = SynapseServer(self._root / f"synapse-{len(self._servers)}", overrides)
            server.start()
            self._servers[key] = server
        return server

    def stop_all(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
