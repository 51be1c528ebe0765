"""Who the bot is on the homeserver: an access token checked with whoami, or a password login whose device
and token are kept (mode 0600) and reused, so restarts do not pile up devices on the account.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeGuard

from hermes.fileio import write_atomic
from hermes.platforms.base import CredentialsRejected
from hermes.platforms.matrix.http import MatrixHTTP, Method, client_path, is_auth_error
from hermes.platforms.matrix.options import LoginSettings

log = logging.getLogger(__name__)

SESSION_FILE = "session.json"
DEVICE_NAME = "Hermes"


@dataclass(frozen=True)
class Credentials:
    homeserver: str
    user_id: str
    device_id: str | None
    access_token: str


async def establish(
    http: MatrixHTTP,
    settings: LoginSettings,
    state_dir: Path,
    known_device: Callable[[str], Awaitable[str | None]] | None = None,
) -> Credentials:
    """Sets `http.token` and returns the bot's identity; `CredentialsRejected` when the server says no.

    `known_device(user_id)`: a device to log in to when neither the settings nor this home name one (on
    PostgreSQL, the one whose encryption identity the shared crypto store holds).
    """
    if settings.access_token:
        http.token = settings.access_token
        user_id, device_id = await _whoami(http, "MATRIX_ACCESS_TOKEN")
        if settings.user_id and settings.user_id != user_id:
            log.warning(
                "matrix: MATRIX_USER_ID is %s but the access token belongs to %s", settings.user_id, user_id
            )
        device_id = device_id or settings.device_id
        creds = Credentials(settings.homeserver, user_id, device_id, settings.access_token)
        # The operator's token already lives in .env; only the device id is kept here.
        await _save(state_dir, {"homeserver": creds.homeserver, "user_id": user_id, "device_id": device_id})
        return creds
    stored = await _load(state_dir)
    if _reusable(stored, settings):
        http.token = stored["access_token"]
        try:
            user_id, device_id = await _whoami(http, "the stored session")
            return Credentials(settings.homeserver, user_id, device_id or stored.get("device_id"), http.token)
        except CredentialsRejected:
            log.info("matrix: the stored session was logged out; logging in again with the same device")
    device_id = settings.device_id or (stored or {}).get("device_id")
    if device_id is None and known_device is not None and settings.user_id:
        device_id = await known_device(settings.user_id)
    creds = await _login(http, settings, device_id)
    await _save(state_dir, asdict(creds))
    return creds


async def stored_token(state_dir: Path, settings: LoginSettings) -> str | None:
    """The access token of an earlier password login that still matches the settings."""
    stored = await _load(state_dir)
    return stored["access_token"] if stored is not None and _reusable(stored, settings) else None


def _reusable(stored: dict[str, Any] | None, settings: LoginSettings) -> TypeGuard[dict[str, Any]]:
    return bool(
        stored
        and stored.get("access_token")
        and stored.get("user_id") == settings.user_id
        and stored.get("homeserver") == settings.homeserver
        and (settings.device_id is None or stored.get("device_id") == settings.device_id)
    )


async def _whoami(http: MatrixHTTP, source: str) -> tuple[str, str | None]:
    try:
        answer = await http.request(Method.GET, client_path("account/whoami"))
    except Exception as exc:
        if is_auth_error(exc):
            raise CredentialsRejected(f"the homeserver rejected {source} ({_describe(exc)})") from None
        raise
    return answer["user_id"], answer.get("device_id")


async def _login(http: MatrixHTTP, settings: LoginSettings, device_id: str | None) -> Credentials:
    request: dict[str, Any] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": settings.user_id},
        "password": settings.password,
        "initial_device_display_name": DEVICE_NAME,
    }
    if device_id:
        request["device_id"] = device_id
    http.token = ""
    try:
        answer = await http.request(Method.POST, client_path("login"), request, sensitive=True)
    except Exception as exc:
        status = getattr(exc, "http_status", 0)
        if status in (401, 403) or getattr(exc, "errcode", None) in ("M_FORBIDDEN", "M_USER_DEACTIVATED"):
            raise CredentialsRejected(
                f"password login for {settings.user_id} was refused ({_describe(exc)})"
            ) from None
        raise
    http.token = answer["access_token"]
    log.info("matrix: logged in as %s on device %s", answer["user_id"], answer.get("device_id"))
    return Credentials(
        settings.homeserver, answer["user_id"], answer.get("device_id"), answer["access_token"]
    )


def _describe(exc: BaseException) -> str:
    errcode = getattr(exc, "errcode", None)
    message = getattr(exc, "message", None) or str(exc)
    return f"{errcode}: {message}" if errcode else message


async def _load(state_dir: Path) -> dict[str, Any] | None:
    def read() -> dict[str, Any] | None:
        try:
            data = json.loads((state_dir / SESSION_FILE).read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            log.warning("matrix: ignoring unreadable %s", state_dir / SESSION_FILE)
            return None
        return data if isinstance(data, dict) else None

    return await asyncio.to_thread(read)


async def _save(state_dir: Path, data: dict[str, Any]) -> None:
    def write() -> None:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(state_dir / SESSION_FILE, json.dumps(data), mode=0o600)

    await asyncio.to_thread(write)
