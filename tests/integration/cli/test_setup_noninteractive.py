"""`hermes gateway setup --non-interactive`: the same wizard from flags, for scripts and fleet tools."""

from __future__ import annotations

import asyncio
import os
import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from hermes.config import load_config
from tests.fakes.llm import Error, FakeLLM
from tests.fakes.mattermost import MattermostEmulator
from tests.harness.gateway import HERMES, gateway_in_process
from tests.harness.synapse_server import SynapseServer, free_port

LLM_KEY = "sk-fake-llm-key-0123456789"
EXISTING_CONFIG = """\
# written by hand; keep this comment
model:
  provider: openrouter   # was the default
  context_length: 64000
colour: blue   # an unknown key stays
"""
EXISTING_ENV = """\
# keys
OPENROUTER_API_KEY=sk-or-keep-me-1234
SOMETHING_ELSE=untouched
"""


async def setup(home: Path, *flags: str) -> tuple[int, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MATRIX_", "MATTERMOST_", "API_SERVER_", "HERMES_"))
    }
    proc = await asyncio.create_subprocess_exec(
        HERMES,
        "gateway",
        "setup",
        "--non-interactive",
        *flags,
        env={**env, "HERMES_HOME": str(home), "COLUMNS": "200"},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM(instant=True, api_key=LLM_KEY) as fake:
        yield fake


@pytest.fixture
async def mm() -> AsyncIterator[MattermostEmulator]:
    async with MattermostEmulator() as emulator:
        yield emulator


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    root.mkdir()
    (root / "config.yaml").write_text(EXISTING_CONFIG)
    (root / ".env").write_text(EXISTING_ENV)
    return root


def model_flags(llm: FakeLLM) -> list[str]:
    return ["--provider", "custom", "--base-url", llm.base_url, "--api-key", LLM_KEY, "--model", "fake-model"]


async def test_flags_set_up_mattermost_and_the_api_server_keeping_what_was_there(
    home: Path, llm: FakeLLM, mm: MattermostEmulator
) -> None:
    bot, token = mm.create_bot("hermes")
    alice = mm.create_user("alice")
    port = free_port()
    code, out = await setup(
        home,
        *model_flags(llm),
        "--platform",
        "mattermost",
        "--platform",
        "api_server",
        "--mattermost-url",
        f"{mm.url}/api/v4/",
        "--mattermost-token",
        token,
        "--mattermost-allowed-users",
        "@alice",
        "--api-server-port",
        str(port),
    )
    assert code == 0, out
    for secret in (LLM_KEY, token, "sk-or-keep-me-1234"):
        assert secret not in out
    # The words say what a non-interactive run does: it writes without asking.
    assert "nothing is written before you see the changes" not in out
    assert "the changes are shown, then written" in out
    # And the last lines say how to reach the API.
    assert f"The API (OpenAI-compatible), once the gateway runs: http://127.0.0.1:{port}/v1" in out
    assert "hermes api key" in out and "docs/api.md" in out
    config = (home / "config.yaml").read_text()
    head = "# written by hand; keep this comment\nmodel:\n  provider: custom   # was the default\n"
    assert config.startswith(head)
    assert "  context_length: 64000\n" in config and "colour: blue   # an unknown key stays\n" in config
    env = (home / ".env").read_text()
    assert env.startswith(EXISTING_ENV)
    assert stat.S_IMODE((home / ".env").stat().st_mode) == 0o600
    key = re.search(r"^API_SERVER_KEY=([0-9a-f]{64})$", env, re.MULTILINE)
    assert key is not None
    loaded = load_config({"HERMES_HOME": str(home)})
    settings = loaded.settings
    assert loaded.value("mattermost.url") == mm.url and loaded.value("mattermost.allowed_users") == [alice.id]
    assert loaded.value("api_server.enabled") and loaded.value("api_server.port") == port
    assert settings.model.api_key == LLM_KEY

    # Run again with the same answers: nothing to change, the generated key is kept.
    code, out = await setup(home, "--platform", "mattermost", "--platform", "api_server")
    assert code == 0, out
    assert "Nothing to change" in out

    async with gateway_in_process(home) as gateway:
        await gateway.connected("mattermost")
        await gateway.connected("api_server")
        dm = mm.direct_channel(alice, bot)
        await mm.post_as(alice, dm, "hello from a script")
        reply = await mm.wait_for_post(lambda p: p.user_id == bot.id and p.channel_id == dm.id, 10)
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {key.group(1)}"}
            ) as response,
        ):
            assert response.status == 200
    assert reply.message == "hello from a script"


async def test_a_failed_check_names_the_problem_and_writes_nothing(
    home: Path, llm: FakeLLM, mm: MattermostEmulator
) -> None:
    mm.create_bot("hermes")
    code, out = await setup(
        home,
        *model_flags(llm),
        "--platform",
        "mattermost",
        "--mattermost-url",
        mm.url,
        "--mattermost-token",
        "not-the-token",
    )
    assert code == 1
    assert "✗ the Mattermost bot: the server refused the token" in out
    assert "Nothing was written." in out
    assert (home / "config.yaml").read_text() == EXISTING_CONFIG
    assert (home / ".env").read_text() == EXISTING_ENV


async def test_an_unknown_model_is_reported_as_the_model(home: Path, llm: FakeLLM) -> None:
    llm.script(Error(404, "The model 'gpt-9' does not exist", code="model_not_found"))
    flags = model_flags(llm)
    flags[-1] = "gpt-9"
    code, out = await setup(home, *flags)
    assert code == 1
    assert "The model 'gpt-9' does not exist" in out and "check the model id" in out
    assert (home / "config.yaml").read_text() == EXISTING_CONFIG


async def test_missing_and_bad_flags_are_named(home: Path, llm: FakeLLM) -> None:
    code, out = await setup(home, "--provider", "custom", "--model", "m")
    assert code == 2 and "--base-url is needed" in out
    code, out = await setup(home, "--provider", "watson")
    assert code == 2 and "--provider: 'watson' is not one of openrouter, anthropic, openai" in out
    code, out = await setup(home, *model_flags(llm), "--platform", "irc")
    assert code == 2 and "--platform: irc not one of" in out
    code, out = await setup(home, *model_flags(llm), "--platform", "mattermost", "--no-check")
    assert code == 2 and "--mattermost-url is needed" in out
    weak_key = ["--api-server-key", "changeme-please-now"]
    code, out = await setup(home, *model_flags(llm), "--platform", "api_server", *weak_key)
    assert code == 2 and "--api-server-key: the key is a placeholder from an example" in out
    assert (home / "config.yaml").read_text() == EXISTING_CONFIG


async def test_dry_run_shows_the_diff_and_writes_nothing(home: Path, llm: FakeLLM) -> None:
    code, out = await setup(home, *model_flags(llm), "--dry-run")
    assert code == 0, out
    assert "-  provider: openrouter   # was the default" in out
    assert "+  provider: custom   # was the default" in out
    assert "+HERMES_MODEL_API_KEY=********" in out
    assert "Dry run: nothing was written." in out
    assert (home / "config.yaml").read_text() == EXISTING_CONFIG


@pytest.mark.synapse
async def test_matrix_with_an_access_token(home: Path, llm: FakeLLM, synapse: SynapseServer) -> None:
    account = await synapse.register(prefix="hermes")
    matrix = ["--platform", "matrix", "--matrix-homeserver", synapse.base_url]
    code, out = await setup(home, *model_flags(llm), *matrix, "--matrix-access-token", "syt_not_a_token")
    assert code == 1 and "the homeserver refused the access token (M_UNKNOWN_TOKEN" in out
    code, out = await setup(
        home,
        *model_flags(llm),
        *matrix,
        "--matrix-access-token",
        account.access_token,
        "--matrix-allowed-users",
        "alice, @bob:example.org",
    )
    assert code == 0, out
    assert f"✓ signed in as {account.user_id}" in out
    server = account.user_id.split(":", 1)[1]
    loaded = load_config({"HERMES_HOME": str(home)})
    assert loaded.value("matrix.allowed_users") == [f"@alice:{server}", "@bob:example.org"]
    assert loaded.value("matrix.access_token") == account.access_token
    code, out = await setup(home, *model_flags(llm), *matrix, "--matrix-allowed-users", "@not an id")
    assert code == 2 and "is not a Matrix user id" in out


async def test_a_home_whose_configuration_does_not_load(home: Path, llm: FakeLLM) -> None:
    (home / ".env").write_text("MATRIX_REQUIRE_MENTION=sometimes\n")
    code, out = await setup(home, *model_flags(llm))
    assert code == 1
    assert "The current configuration does not load" in out
    assert "With these changes the gateway would not start:" in out
    assert "matrix.require_mention = 'sometimes'" in out and "Nothing was written." in out
    assert (home / ".env").read_text() == "MATRIX_REQUIRE_MENTION=sometimes\n"
    assert (home / "config.yaml").read_text() == EXISTING_CONFIG


async def test_a_providers_own_flags_answer_its_questions(home: Path) -> None:
    """The Bedrock flags are declared by the Bedrock provider module, not by the wizard."""
    flags = ("--provider", "bedrock", "--model", "anthropic.claude-3", "--no-check", "--yes")
    code, out = await setup(home, *flags, "--aws-region")
    assert code == 2 and "--aws-region needs a value" in out
    code, out = await setup(
        home,
        *flags,
        "--aws-access-key-id",
        "AKIAEXAMPLE1234",
        "--aws-secret-access-key",
        "aws-secret-9876",
        "--aws-region=eu-west-3",
    )
    assert code == 0, out
    assert "AKIAEXAMPLE1234" not in out and "aws-secret-9876" not in out
    env = (home / ".env").read_text()
    assert "AWS_ACCESS_KEY_ID=AKIAEXAMPLE1234\n" in env and "AWS_SECRET_ACCESS_KEY=aws-secret-9876\n" in env
    assert "AWS_DEFAULT_REGION=eu-west-3\n" in env
    loaded = load_config({"HERMES_HOME": str(home)})
    assert loaded.settings.model.provider == "bedrock" and loaded.value("bedrock.region") == "eu-west-3"
