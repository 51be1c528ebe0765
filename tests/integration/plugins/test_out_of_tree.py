"""An out-of-tree platform, tool or provider gets everything an in-tree one gets, with no edit to Hermes.

`tests/plugins/hermes-echo` is a distribution of its own (pyproject.toml, a `hermes.platforms` entry point
for the echo platform, a `hermes.tools` one for the `sign` tool and a `hermes.providers` one for the
`parrot` provider).
It is built into a wheel and installed into a temporary directory that only the `hermes` subprocesses of
this test see (through PYTHONPATH), never into the test environment itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.llm import Call, FakeLLM, Text, ToolCalls
from tests.harness.gateway import HERMES, start_gateway_process, wait_for_log, write_home
from tests.harness.synapse_server import free_port

PLUGIN_SOURCE = Path(__file__).parents[2] / "plugins" / "hermes-echo"
TOKEN = "echo-secret-token-4242"
SIGN_KEY = "sign-secret-key-7777"
PARROT_KEY = "parrot-secret-key-3141"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The echo distribution, built with its own build backend and installed (unpacked) into `site`."""
    root = tmp_path_factory.mktemp("echo")
    source = shutil.copytree(PLUGIN_SOURCE, root / "source")
    wheels = root / "wheels"
    build = f"from setuptools import build_meta; print(build_meta.build_wheel({str(wheels)!r}))"
    done = subprocess.run(
        [sys.executable, "-c", build], cwd=source, capture_output=True, text=True, check=True, timeout=120
    )
    wheel = wheels / done.stdout.strip().splitlines()[-1]
    site = root / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    assert (site / "hermes_echo-0.1.0.dist-info" / "entry_points.txt").is_file()
    return site


async def hermes(site: Path, home: Path, *args: str, stdin: str = "", **env: str) -> tuple[int, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("ECHO_", "PARROT_"))}
    proc = await asyncio.create_subprocess_exec(
        HERMES,
        *args,
        env={**clean, "HERMES_HOME": str(home), "PYTHONPATH": str(site), "COLUMNS": "200", **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate(stdin.encode())
    return proc.returncode or 0, out.decode()


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM(instant=True) as fake:
        yield fake


async def test_not_installed_means_not_known(tmp_path: Path) -> None:
    """The control: without the distribution on the path, Hermes has no `echo` at all."""
    proc = await asyncio.create_subprocess_exec(
        HERMES,
        "config",
        "reference",
        env={**os.environ, "HERMES_HOME": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert "ECHO_TOKEN" not in out.decode() and "tools.sign" not in out.decode()
    assert "parrot" not in out.decode()


async def test_the_package_keeps_the_contract(site: Path) -> None:
    check = "from hermes.testing import contract_problems; from hermes_echo import EchoPlatform as P; "
    check += "print(contract_problems(P))"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        check,
        env={**os.environ, "PYTHONPATH": str(site)},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert out.decode().strip() == "[]"


async def test_config_reference_and_show(site: Path, tmp_path: Path) -> None:
    code, reference = await hermes(site, tmp_path, "config", "reference")
    assert code == 0, reference
    assert "## `echo`\n\nThe echo example platform (an out-of-tree package)." in reference
    assert (
        "| `echo.token` | `ECHO_TOKEN` | text, **secret** | unset | The Bearer token people post with. |"
        in (reference)
    )
    assert "- **Posts get 401.** Send `Authorization: Bearer <ECHO_TOKEN>`." in reference
    sign_key = (
        "| `tools.sign.key` | `ECHO_SIGN_KEY` | text, **secret** | unset | The key texts are signed with"
    )
    assert sign_key in reference

    config = {"echo": {"port": 9999}, "tools": {"sign": {"label": "ops"}}}
    home = write_home(tmp_path / "home", config=config, env={"ECHO_TOKEN": TOKEN, "ECHO_SIGN_KEY": SIGN_KEY})
    code, shown = await hermes(site, home, "config", "show")
    assert code == 0, shown
    rows = {line.split(" = ")[0].strip(): line for line in shown.splitlines() if " = " in line}
    assert rows["echo.token"].endswith("********  [.env]")
    assert rows["echo.port"].endswith("9999  [config.yaml]")
    assert rows["tools.sign.key"].endswith("********  [.env]")
    assert rows["tools.sign.label"].endswith('"ops"  [config.yaml]')
    assert TOKEN not in shown and SIGN_KEY not in shown
    code, got = await hermes(site, home, "config", "get", "ECHO_SIGN_KEY")
    assert (code, got) == (0, "********\n# tools.sign.key [.env]\n")


async def test_a_bad_value_is_named_like_a_core_one(site: Path, tmp_path: Path) -> None:
    home = write_home(tmp_path / "home", env={"ECHO_PORT": "lots"})
    code, out = await hermes(site, home, "doctor")
    assert code == 78
    assert "config error: echo.port = 'lots' (from .env as ECHO_PORT)" in out


async def test_setup_non_interactive_doctor_run_and_status(site: Path, tmp_path: Path, llm: FakeLLM) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    model = ("--provider", "custom", "--base-url", llm.base_url, "--model", "fake-model")
    code, out = await hermes(
        site,
        home,
        "gateway",
        "setup",
        "--non-interactive",
        *model,
        "--platform",
        "echo",
        "--echo-token",
        "short",
        "--echo-allowed-users",
        "alice",
    )
    assert code == 1 and "the echo token: the token has 5 characters — use 12 or more" in out
    assert not (home / ".env").exists()

    code, out = await hermes(
        site,
        home,
        "gateway",
        "setup",
        "--non-interactive",
        "--yes",
        *model,
        "--platform",
        "echo",
        "--echo-token",
        TOKEN,
        "--echo-allowed-users",
        "alice, bob",
    )
    assert code == 0, out
    assert "✓ the token is long enough" in out and TOKEN not in out
    env = (home / ".env").read_text()
    assert f"ECHO_TOKEN={TOKEN}\n" in env and "ECHO_ALLOWED_USERS=alice,bob\n" in env

    port = free_port()
    with (home / ".env").open("a") as extra:
        extra.write(f"ECHO_PORT={port}\nECHO_SIGN_KEY={SIGN_KEY}\n")
    code, out = await hermes(site, home, "doctor")
    assert "✓ echo: the token is long enough" in out.splitlines(), out

    gateway = start_gateway_process(home, {"PYTHONPATH": str(site)})
    try:
        await wait_for_log(gateway, "echo: connected")
        llm.script(ToolCalls([Call("sign", {"text": "hello"})]), Text("echoed by the agent"))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=headers) as http:
            async with http.post("/messages", json={"user": "alice", "text": "hello"}) as posted:
                assert posted.status == 202
            async with asyncio.timeout(20):
                while True:
                    async with http.get("/sent") as listed:
                        sent = await listed.json()
                    if sent:
                        break
                    await asyncio.sleep(0.05)
        assert sent[0]["chat"] == "dm-alice" and sent[0]["text"] == "echoed by the agent"
        # The installed tool was offered, called, and signed with the key from .env.
        first, second = llm.chat_requests[-2:]
        assert "sign" in first.tool_names
        signature = hmac.new(SIGN_KEY.encode(), b"hello", hashlib.sha256).hexdigest()
        assert second.messages[-1]["content"] == f"echo:{signature}"

        code, out = await hermes(site, home, "gateway", "status", "--json")
        assert code == 0, out
        echo = json.loads(out)["platforms"]["echo"]
        assert echo["state"] == "connected" and echo["label"] == "Echo"
        assert echo["fields"] == {"port": port, "received": 1}
        code, out = await hermes(site, home, "gateway", "status")
        assert f"port {port}, received 1" in out
    finally:
        gateway.terminate()
    log = (home / "logs" / "gateway.log").read_text()
    assert "echo: listening on port" in log and "token [REDACTED]" in log
    assert "sign: signing with key [REDACTED]" in log
    assert TOKEN not in log and TOKEN not in gateway.log()
    assert SIGN_KEY not in log and SIGN_KEY not in gateway.log()


async def test_a_provider_is_documented_set_up_checked_and_used(site: Path, tmp_path: Path) -> None:
    code, reference = await hermes(site, tmp_path, "config", "reference")
    assert code == 0, reference
    row = "| `provider_keys.parrot_api_key` | `PARROT_API_KEY` | text, **secret** | unset | Parrot key"
    assert row in reference
    provider = next(line for line in reference.splitlines() if line.startswith("| `model.provider` |"))
    assert "`parrot`" in provider and "`openrouter`" in provider

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    setup = ("gateway", "setup", "--non-interactive", "--yes", "--provider", "parrot", "--model", "polly")
    code, out = await hermes(site, home, *setup)
    assert code == 2 and "--api-key is needed (parrot api key)" in out
    code, out = await hermes(site, home, *setup, "--api-key", PARROT_KEY)
    assert code == 0, out
    assert "✓ the parrot is listening (key " in out and "polly answered" in out and PARROT_KEY not in out
    assert f"PARROT_API_KEY={PARROT_KEY}\n" in (home / ".env").read_text()

    code, shown = await hermes(site, home, "config", "show")
    rows = {line.split(" = ")[0].strip(): line for line in shown.splitlines() if " = " in line}
    assert rows["provider_keys.parrot_api_key"].endswith("********  [.env]")
    assert rows["model.provider"].endswith('"parrot"  [config.yaml]')
    assert PARROT_KEY not in shown

    code, out = await hermes(site, home, "doctor")
    assert "✓ provider parrot: the parrot is listening" in out, out

    code, out = await hermes(site, home, "chat", stdin="hello there\n")
    assert code == 0, out
    assert "says: hello there" in out and "polly" in out

    code, out = await hermes(site, home, "doctor", HERMES_INFERENCE_PROVIDER="gemini")
    assert code == 78
    assert "model.provider = 'gemini' (from environment as HERMES_INFERENCE_PROVIDER)" in out
    assert "'openrouter' or 'parrot'" in out
