"""`hermes doctor` lines for Matrix: settings valid, homeserver reachable, credentials accepted, someone
allowed to talk to the bot, python-olm loadable when encryption is on. Never logs in with the password:
that would add a device to the account.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from hermes.config.errors import ConfigError
from hermes.platforms.base import Check
from hermes.platforms.matrix.options import MatrixOptions

if TYPE_CHECKING:
    from hermes.config import LoadedConfig

TIMEOUT = 10.0


async def matrix_checks(config: LoadedConfig) -> list[Check]:
    try:
        options = MatrixOptions.from_config(config)
    except ConfigError as exc:
        return [Check(False, f"matrix: {problem}", "fix the setting named") for problem in exc.problems]
    checks = [await _connection_check(options)]
    encryption = encryption_check(options)
    if encryption is not None:
        checks.append(encryption)
    gateway = config.settings.gateway
    if not (
        options.access.users or options.access.allow_all or gateway.allowed_users or gateway.allow_all_users
    ):
        checks.append(
            Check(False, "matrix: nobody may talk to the bot", "set MATRIX_ALLOWED_USERS=@you:your.server")
        )
    return checks


def encryption_check(options: MatrixOptions) -> Check | None:
    """Whether end-to-end encryption can run here; None when it is off."""
    from hermes.platforms.matrix.crypto.setup import olm_problem

    mode = options.e2ee_mode
    if mode == "off":
        return None
    problem = olm_problem()
    if problem is None:
        return Check(True, f"matrix: end-to-end encryption {mode} (python-olm loads)")
    consequence = "Matrix will not start" if mode == "required" else "encrypted rooms get no answer"
    return Check(
        False,
        f"matrix: MATRIX_E2EE_MODE={mode} but python-olm cannot be loaded ({problem}): {consequence}",
        "pip install 'mautrix[encryption]'",
    )


async def _connection_check(options: MatrixOptions) -> Check:
    from hermes.platforms.matrix.http import Method, client_path, is_auth_error, open_http
    from hermes.platforms.matrix.session import stored_token

    login = options.login
    token = login.access_token or await stored_token(options.state_dir, login)
    http = open_http(login.homeserver, token or "")
    try:
        async with asyncio.timeout(TIMEOUT):
            if not token:
                await http.request(Method.GET, "_matrix/client/versions")
                return Check(
                    True, f"matrix: {login.homeserver} reachable; the bot logs in with its password at start"
                )
            answer = await http.request(Method.GET, client_path("account/whoami"))
            return Check(True, f"matrix: signed in as {answer['user_id']} (device {answer.get('device_id')})")
    except TimeoutError:
        return Check(False, f"matrix: {login.homeserver} did not answer within {TIMEOUT:.0f} s", _REACH)
    except Exception as exc:
        if is_auth_error(exc):
            what = "MATRIX_ACCESS_TOKEN" if login.access_token else "the stored session"
            return Check(False, f"matrix: the homeserver rejects {what}", _NEW_TOKEN)
        return Check(False, f"matrix: cannot reach {login.homeserver}: {exc}", _REACH)
    finally:
        await http.close()


_REACH = "check MATRIX_HOMESERVER and the network"
_NEW_TOKEN = "create a new access token (or set MATRIX_USER_ID and MATRIX_PASSWORD) and restart"
