"""`hermes gateway setup`: from nothing to a bot that answers, without reading code.

Asks for the provider and model, then for each chosen platform its server and credentials, checking each
live; asks who may talk to the bot; generates the API server key. Then shows the changes to `.env` and
`config.yaml` as a diff (secrets masked) and writes them only when told to. Existing keys, comments and
unknown entries are kept. Every question has a flag, so `--non-interactive` does the same from a script.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from hermes.cli.setup_form import Form
    from hermes.config import HermesPaths, Settings

EXIT_CANCELLED = 130
# `--api-key` answers whichever provider is chosen.
_PROVIDER_KEYS = (
    "model.api_key",
    *(f"provider_keys.{name}_api_key" for name in ("openrouter", "anthropic", "openai")),
)
_PLATFORM_OPTION = typer.Option(
    None, "--platform", help="matrix, mattermost or api_server; repeat for several."
)


def setup(
    non_interactive: bool = typer.Option(
        False, "--non-interactive", help="Ask nothing: take every answer from the flags and current settings."
    ),
    provider: str | None = typer.Option(
        None, "--provider", help="openrouter, anthropic, openai, bedrock or custom."
    ),
    model: str | None = typer.Option(None, "--model", help="The model id, as the provider names it."),
    base_url: str | None = typer.Option(None, "--base-url", help="custom: the server's address."),
    api_key: str | None = typer.Option(None, "--api-key", help="The provider's API key."),
    aws_access_key_id: str | None = typer.Option(None, "--aws-access-key-id", help="bedrock: access key id."),
    aws_secret_access_key: str | None = typer.Option(None, "--aws-secret-access-key", help="bedrock."),
    aws_region: str | None = typer.Option(None, "--aws-region", help="bedrock: the AWS region."),
    platform: list[str] | None = _PLATFORM_OPTION,
    matrix_homeserver: str | None = typer.Option(None, "--matrix-homeserver"),
    matrix_login: str | None = typer.Option(None, "--matrix-login", help="token or password."),
    matrix_access_token: str | None = typer.Option(None, "--matrix-access-token"),
    matrix_user_id: str | None = typer.Option(None, "--matrix-user-id", help="The bot's @name:server."),
    matrix_password: str | None = typer.Option(None, "--matrix-password"),
    matrix_allowed_users: str | None = typer.Option(None, "--matrix-allowed-users", help="Comma-separated."),
    mattermost_url: str | None = typer.Option(None, "--mattermost-url"),
    mattermost_token: str | None = typer.Option(None, "--mattermost-token"),
    mattermost_reply_mode: str | None = typer.Option(None, "--mattermost-reply-mode", help="off or thread."),
    mattermost_allowed_users: str | None = typer.Option(
        None, "--mattermost-allowed-users", help="Comma-separated user ids or @usernames."
    ),
    api_server_host: str | None = typer.Option(None, "--api-server-host"),
    api_server_port: int | None = typer.Option(None, "--api-server-port"),
    api_server_key: str | None = typer.Option(
        None, "--api-server-key", help="Default: keep the current one or generate one."
    ),
    no_check: bool = typer.Option(False, "--no-check", help="Skip the live checks."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the changes, write nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Write without asking for confirmation."),
) -> None:
    """Set up the model and the chat platforms interactively (or from flags with --non-interactive)."""
    from hermes.cli.line_prompter import LinePrompter
    from hermes.cli.setup_form import Form, SetupStopped
    from hermes.cli.terminal import Cancelled, prompter_for_stdio

    given: dict[str, Any] = {
        "model.provider": provider,
        "model.default": model,
        "model.base_url": base_url,
        "provider_keys.aws_access_key_id": aws_access_key_id,
        "provider_keys.aws_secret_access_key": aws_secret_access_key,
        "bedrock.region": aws_region,
        "platforms": platform or [],
        "matrix.homeserver": matrix_homeserver,
        "matrix.login": matrix_login,
        "matrix.access_token": matrix_access_token,
        "matrix.user_id": matrix_user_id,
        "matrix.password": matrix_password,
        "matrix.allowed_users": matrix_allowed_users,
        "mattermost.url": mattermost_url,
        "mattermost.token": mattermost_token,
        "mattermost.reply_mode": mattermost_reply_mode,
        "mattermost.allowed_users": mattermost_allowed_users,
        "api_server.host": api_server_host,
        "api_server.port": api_server_port,
        "api_server.key": api_server_key,
        **dict.fromkeys(_PROVIDER_KEYS, api_key),
    }
    ui = LinePrompter(sys.stdin, sys.stdout) if non_interactive else prompter_for_stdio()
    form = Form(ui, interactive=not non_interactive, given=given, checks=not no_check)
    try:
        code = run_wizard(form, dry_run=dry_run, yes=yes)
    except SetupStopped as exc:
        ui.fail(str(exc))
        ui.say("Nothing was written.")
        raise typer.Exit(exc.code) from None
    except (KeyboardInterrupt, Cancelled):
        ui.say("\nSetup cancelled; nothing was written.")
        raise typer.Exit(EXIT_CANCELLED) from None
    raise typer.Exit(code)


def _current(form: Form) -> tuple[HermesPaths, Settings]:
    from hermes.config import ConfigError, Settings, load_config
    from hermes.config.writer import home_paths

    try:
        config = load_config()
    except ConfigError as exc:
        form.ui.fail("The current configuration does not load; its other settings are left as they are:")
        for problem in exc.problems:
            form.ui.say(f"    {problem}")
        return home_paths(), Settings()
    return config.paths, config.settings


def run_wizard(form: Form, *, dry_run: bool = False, yes: bool = False) -> int:
    from hermes.cli.setup_model import model_section
    from hermes.cli.setup_platforms import SECTIONS
    from hermes.cli.terminal import Choice
    from hermes.platforms.base import registered

    paths, current = _current(form)
    ui = form.ui
    ui.say(f"Setting up Hermes in {paths.home}")
    if form.interactive:
        ui.say("Current settings are suggested as answers; nothing is written before you see the changes.")
    else:
        ui.say("Current settings stay unless a flag changes them; the changes are shown, then written.")
    changes = model_section(form, current)
    available = registered()
    offered = [section for section in SECTIONS if section.name in available]
    chosen = form.choose_many(
        "platforms",
        "Where should the bot talk to people?",
        "--platform",
        [Choice(section.name, section.label, section.hint) for section in offered],
        selected=[section.name for section in offered if section.configured(current)],
    )
    if not chosen:
        ui.say("No platform chosen: only the model is set up (`hermes chat` works with it).")
    for section in offered:
        if section.name in chosen:
            changes |= section.run(form, current)
    return _write(form, paths, changes, dry_run=dry_run, yes=yes)


def _write(form: Form, paths: HermesPaths, changes: dict[str, Any], *, dry_run: bool, yes: bool) -> int:
    from hermes.cli.setup_form import SetupStopped
    from hermes.config.writer import WriteError, check_plan, plan_changes

    ui = form.ui
    try:
        plan = plan_changes(paths, changes)
    except WriteError as exc:
        raise SetupStopped(str(exc)) from None
    verdict = check_plan(plan)
    for line in verdict.shadowed:
        ui.fail(line, "remove it there, or the written value has no effect")
    if verdict.problems:
        ui.fail("With these changes the gateway would not start:")
        for problem in verdict.problems:
            ui.say(f"    {problem}")
        if not form.interactive or not form.ui.confirm("Write them anyway?", default=False):
            raise SetupStopped("fix the settings named above and run the setup again")
    if not plan.changed:
        ui.say(f"\nNothing to change: {paths.env_file.name} and {paths.config_file.name} already say this.")
        _say_how_to_reach_the_api(form)
        return 0
    ui.say("\nThese changes will be made (secrets shown as ********):\n")
    ui.say(plan.diff().rstrip("\n"))
    if dry_run:
        ui.say("\nDry run: nothing was written.")
        return 0
    if form.interactive and not yes and not ui.confirm("Write these changes?", default=True):
        ui.say("Nothing was written.")
        return 0
    plan.write()
    ui.ok(f"Wrote {paths.env_file} (mode 600) and {paths.config_file}.")
    ui.say(
        "\nNext:\n"
        "  hermes gateway run        start it in this terminal\n"
        "  hermes gateway install    or run it as a service (then: hermes gateway start)\n"
        "  hermes gateway status     see how it is doing once it runs\n"
        "  hermes doctor             check everything again"
    )
    _say_how_to_reach_the_api(form)
    return 0


def _say_how_to_reach_the_api(form: Form) -> None:
    from hermes.config import ConfigError, load_config

    try:
        api = load_config().settings.api_server
    except ConfigError:
        return
    if not api.enabled:
        return
    host = f"[{api.host}]" if ":" in api.host else api.host
    form.ui.say(
        f"\nThe API (OpenAI-compatible), once the gateway runs: http://{host}:{api.port}/v1\n"
        "  hermes api key            prints the key clients send as `Authorization: Bearer <key>`\n"
        "  docs/api.md               endpoints, sessions, errors, examples (curl, openai SDK, Open WebUI)"
    )
