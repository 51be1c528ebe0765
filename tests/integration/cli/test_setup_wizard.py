"""`hermes gateway setup` typed through a pseudo-terminal, against the fake LLM, a real Synapse and the
Mattermost emulator — ending with a gateway started from the files it wrote, answering DMs on both."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from hermes.config import load_config
from tests.fakes.llm import FakeLLM
from tests.fakes.mattermost import MattermostEmulator
from tests.harness.gateway import HERMES, gateway_in_process
from tests.harness.matrix_user import MatrixHumans
from tests.harness.synapse_server import SynapseServer
from tests.integration.cli.pty_driver import CTRL_C, DOWN, ENTER, SPACE, UP, PtyProgram
from tests.integration.matrix.conftest import open_dm

LLM_KEY = "sk-fake-llm-key-0123456789"


def wizard_env(home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MATRIX_", "MATTERMOST_", "API_SERVER_", "HERMES_", "OPENROUTER_", "OPENAI_"))
    }
    return {**env, "HERMES_HOME": str(home), "TERM": "xterm-256color"}


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with FakeLLM(instant=True, api_key=LLM_KEY) as fake:
        yield fake


@pytest.fixture
async def mm() -> AsyncIterator[MattermostEmulator]:
    async with MattermostEmulator() as emulator:
        yield emulator


@pytest.fixture
async def wizard(tmp_path: Path) -> AsyncIterator[PtyProgram]:
    program = await PtyProgram.start([HERMES, "gateway", "setup"], wizard_env(tmp_path / "home"))
    yield program
    program.close()


@pytest.mark.synapse
async def test_from_nothing_to_a_bot_answering_on_matrix_and_mattermost(
    tmp_path: Path,
    wizard: PtyProgram,
    llm: FakeLLM,
    mm: MattermostEmulator,
    synapse: SynapseServer,
    matrix_humans: MatrixHumans,
) -> None:
    home = tmp_path / "home"
    account = await synapse.register(prefix="hermes")
    alice = await matrix_humans.new(synapse, prefix="alice")
    mm_bot, mm_token = mm.create_bot("hermes")
    mm_alice = mm.create_user("alice")

    # The model: a custom endpoint; the first key is wrong, the wizard says so and asks for just that one.
    await wizard.answer("❯ OpenRouter", UP, ENTER)
    await wizard.expect("? Which LLM provider? Custom endpoint")
    await wizard.answer("? Server address", llm.base_url.removesuffix("/v1"), ENTER)
    await wizard.answer("? API key (Enter if the server needs none)", "sk-wrong-key-999", ENTER)
    await wizard.answer("? Model id", "fake-model", ENTER)
    await wizard.expect("✗ the custom endpoint returned HTTP 401")
    await wizard.answer("❯ The API key", ENTER)
    await wizard.answer("? API key (Enter if the server needs none)", LLM_KEY, ENTER)
    await wizard.expect("✓ the custom endpoint answered with 1 model(s); fake-model answered")

    # Both chat platforms, picked with the arrow keys and the space bar (platforms are listed by name:
    # Discord comes first).
    await wizard.answer("❯ ◯ API server", DOWN, DOWN, SPACE, DOWN, SPACE, ENTER)
    await wizard.expect("? Where should the bot talk to people? Matrix, Mattermost")

    await wizard.answer("? Homeserver URL", synapse.base_url, ENTER)
    await wizard.answer("❯ Access token", DOWN, ENTER)
    await wizard.answer("? The bot's user id", account.user_id, ENTER)
    await wizard.answer("? The bot's password", account.password, ENTER)
    await wizard.expect(f"✓ password accepted for {account.user_id}")
    await wizard.expect("Yours is shown in Element")
    await wizard.answer("? Allowed users", alice.user_id[1:].split(":")[0], ENTER)

    await wizard.answer("? Server URL", mm.url, ENTER)
    await wizard.answer("? Bot token", mm_token, ENTER)
    await wizard.expect(f"✓ signed in as @hermes at {mm.url}")
    await wizard.answer("❯ In the channel", ENTER)
    await wizard.expect("26 letters and digits, not your @name")
    await wizard.answer("? Allowed users", "@alice", ENTER)

    diff = await wizard.answer("? Write these changes? (Y/n)", ENTER)
    await wizard.expect(f"✓ Wrote {home / '.env'} (mode 600)")
    assert await wizard.finish() == 0
    assert f"+MATRIX_ALLOWED_USERS={alice.user_id}" in diff
    assert f"+MATTERMOST_ALLOWED_USERS={mm_alice.id}" in diff
    assert "+MATTERMOST_TOKEN=********" in diff
    for secret in (LLM_KEY, account.password, mm_token):
        assert secret not in wizard.text

    env_file = home / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    loaded = load_config({"HERMES_HOME": str(home)})
    settings = loaded.settings
    assert settings.model.provider == "custom" and settings.model.api_key == LLM_KEY
    assert loaded.value("matrix.user_id") == account.user_id and loaded.value("matrix.access_token") is None
    assert loaded.value("mattermost.allowed_users") == [mm_alice.id]
    assert yaml.safe_load((home / "config.yaml").read_text())["model"]["api_key"] == "${HERMES_MODEL_API_KEY}"

    async with gateway_in_process(home) as gateway:
        await gateway.connected("matrix")
        await gateway.connected("mattermost")
        room = await open_dm(alice, account.user_id)
        sent = await alice.send_text(room, "hello from matrix")
        reply = await alice.wait_for_message(room, after=sent, sender=account.user_id)
        dm = mm.direct_channel(mm_alice, mm_bot)
        await mm.post_as(mm_alice, dm, "hello from mattermost")
        answer = await mm.wait_for_post(lambda p: p.user_id == mm_bot.id and p.channel_id == dm.id, 10)
    assert reply.body == "hello from matrix"
    assert answer.message == "hello from mattermost"


async def test_ctrl_c_cancels_and_writes_nothing(tmp_path: Path, wizard: PtyProgram) -> None:
    await wizard.answer("❯ OpenRouter", DOWN, DOWN, DOWN, DOWN, ENTER)
    await wizard.answer("? Server address", "http://127.0.0.1:9", CTRL_C)
    await wizard.expect("Setup cancelled; nothing was written.")
    assert await wizard.finish() == 130
    assert not (tmp_path / "home" / ".env").exists()
    assert not (tmp_path / "home" / "config.yaml").exists()


async def test_a_bad_answer_is_asked_again_and_no_means_nothing_is_written(
    tmp_path: Path, llm: FakeLLM
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text("# mine\ncolour: blue\n")
    program = await PtyProgram.start([HERMES, "gateway", "setup"], wizard_env(home))
    try:
        await program.answer("❯ OpenRouter", UP, ENTER)
        await program.answer("? Server address", "not a url", ENTER)
        await program.expect("✗ 'not a url' is not an http:// or https:// address")
        await program.answer("? Server address", llm.base_url, ENTER)
        await program.answer("? API key", LLM_KEY, ENTER)
        await program.answer("? Model id", "fake-model", ENTER)
        await program.expect("fake-model answered")
        await program.answer("❯ ◯ API server", ENTER)
        await program.expect("No platform chosen")
        await program.answer("? Write these changes? (Y/n)", "n", ENTER)
        await program.expect("Nothing was written.")
        assert await program.finish() == 0
    finally:
        program.close()
    assert (home / "config.yaml").read_text() == "# mine\ncolour: blue\n"
    assert not (home / ".env").exists()
    await asyncio.sleep(0)
