"""`hermes gateway setup`: from nothing to a bot that answers, without reading code.

Asks for the provider and model, then runs the section of each chosen platform (its `WizardSection`:
server and credentials checked live, who may talk to the bot). Then shows the changes to `.env` and
`config.yaml` as a diff (secrets masked) and writes them only when told to. Existing keys, comments and
unknown entries are kept. Every question has a flag, so `--non-interactive` does the same from a script;
the providers' and the platforms' flags come from their modules (`PlatformFlags` adds them to this command).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand

if TYPE_CHECKING:
    from hermes.cli.setup_form import Form
    from hermes.config import HermesPaths, LoadedConfig
    from hermes.platforms.base import Platform, PlatformSettings
    from hermes.platforms.wizard import Flag, WizardSection

EXIT_CANCELLED = 130
_PLATFORM_OPTION = typer.Option(
    None, "--platform", help="A platform to set up (see the flags below); repeat for several."
)


def _platform_flags() -> list[Flag]:
    from hermes.config import ConfigError
    from hermes.platforms.base import registered

    try:
        platforms = registered()
    except ConfigError:
        return []
    return [flag for cls in platforms.values() if cls.wizard is not None for flag in cls.wizard.flags]


def _provider_flags() -> list[Flag]:
    from hermes.cli.setup_model import provider_flags
    from hermes.config import ConfigError

    try:
        return provider_flags()
    except ConfigError:
        return []


def _listing(title: str, flags: list[Flag]) -> str:
    width = max(len(flag.name) for flag in flags)
    rows = [f"{flag.name.ljust(width)}  {flag.help}".rstrip() for flag in flags]
    return f"{title}:\n\n" + "\n\n".join(rows)


class PlatformFlags(TyperCommand):
    """`hermes gateway setup` taking the flags every registered provider's questions and platform's wizard
    section declare: they arrive as extra arguments (the command allows them), are parsed here, and are
    listed in `--help`."""

    @property
    def epilog(self) -> str | None:
        parts = [
            _listing(title, flags)
            for title, flags in (
                ("Provider flags (each provider's questions)", _provider_flags()),
                ("Platform flags (each platform's questions)", _platform_flags()),
            )
            if flags
        ]
        return "\n\n".join(parts) or None

    @epilog.setter
    def epilog(self, value: str | None) -> None:
        """Typer sets the declared epilog (none); the listing above replaces it."""


def parse_platform_flags(args: list[str]) -> dict[str, Any]:
    """`--name value` and `--name=value` pairs of the providers' and platforms' flags, by setting key;
    SetupStopped (exit 2) naming an unknown flag or one without a value."""
    from hermes.platforms.wizard import SetupStopped

    flags = {flag.name: flag for flag in (*_provider_flags(), *_platform_flags())}
    given: dict[str, Any] = {}
    rest = list(args)
    while rest:
        word = rest.pop(0)
        name, has_value, value = word.partition("=")
        flag = flags.get(name)
        if flag is None:
            known = ", ".join(sorted(flags)) or "none"
            raise SetupStopped(f"no such option: {word} (provider and platform flags: {known})", 2)
        if not has_value:
            if not rest or rest[0].startswith("--"):
                raise SetupStopped(f"{name} needs a value", 2)
            value = rest.pop(0)
        given[flag.key] = value
    return given


def setup(
    ctx: typer.Context,
    non_interactive: bool = typer.Option(
        False, "--non-interactive", help="Ask nothing: take every answer from the flags and current settings."
    ),
    provider: str | None = typer.Option(
        None, "--provider", help="The LLM provider, as model.provider names it (`hermes config reference`)."
    ),
    model: str | None = typer.Option(None, "--model", help="The model id, as the provider names it."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="An endpoint's address (a provider serving any)."
    ),
    api_key: str | None = typer.Option(None, "--api-key", help="The provider's API key."),
    platform: list[str] | None = _PLATFORM_OPTION,
    no_check: bool = typer.Option(False, "--no-check", help="Skip the live checks."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the changes, write nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Write without asking for confirmation."),
) -> None:
    """Set up the model and the chat platforms interactively (or from flags with --non-interactive)."""
    from hermes.cli.line_prompter import LinePrompter
    from hermes.cli.prompter import prompter_for_stdio
    from hermes.cli.setup_form import Form
    from hermes.cli.setup_model import answered_by_core_flags
    from hermes.platforms.wizard import Cancelled, SetupStopped

    ui = LinePrompter(sys.stdin, sys.stdout) if non_interactive else prompter_for_stdio()
    try:
        given: dict[str, Any] = {
            "model.provider": provider,
            "model.default": model,
            "model.base_url": base_url,
            "platforms": platform or [],
            **answered_by_core_flags({"--api-key": api_key, "--base-url": base_url}),
        }
        given |= parse_platform_flags(ctx.args)
    except SetupStopped as exc:
        ui.fail(str(exc))
        raise typer.Exit(exc.code) from None
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


def _current(form: Form) -> tuple[HermesPaths, LoadedConfig | None]:
    from hermes.config import ConfigError, load_config
    from hermes.config.writer import home_paths

    try:
        config = load_config()
    except ConfigError as exc:
        form.ui.fail("The current configuration does not load; its other settings are left as they are:")
        for problem in exc.problems:
            form.ui.say(f"    {problem}")
        return home_paths(), None
    return config.paths, config


def run_wizard(form: Form, *, dry_run: bool = False, yes: bool = False) -> int:
    from hermes.cli.setup_model import model_section
    from hermes.config import Settings
    from hermes.platforms.base import registered
    from hermes.platforms.wizard import Choice

    paths, config = _current(form)
    ui = form.ui
    ui.say(f"Setting up Hermes in {paths.home}")
    if form.interactive:
        ui.say("Current settings are suggested as answers; nothing is written before you see the changes.")
    else:
        ui.say("Current settings stay unless a flag changes them; the changes are shown, then written.")
    changes = model_section(form, config.settings if config is not None else Settings())
    offered: list[tuple[type[Platform], WizardSection, PlatformSettings]] = []
    for cls in registered().values():
        if cls.wizard is not None and cls.settings is not None:
            current = config.section(cls.settings) if config is not None else cls.settings()
            offered.append((cls, cls.wizard, current))

    def configured(wizard: WizardSection, current: PlatformSettings) -> bool:
        return wizard.configured(current) if wizard.configured is not None else current.configured

    chosen = form.choose_many(
        "platforms",
        "Where should the bot talk to people?",
        "--platform",
        [Choice(cls.name, cls.label or cls.name, wizard.hint) for cls, wizard, _ in offered],
        selected=[cls.name for cls, wizard, current in offered if configured(wizard, current)],
    )
    if not chosen:
        ui.say("No platform chosen: only the model is set up (`hermes chat` works with it).")
    for cls, wizard, current in offered:
        if cls.name in chosen:
            changes |= wizard.run(form, current)
    return _write(form, paths, changes, dry_run=dry_run, yes=yes)


def _write(form: Form, paths: HermesPaths, changes: dict[str, Any], *, dry_run: bool, yes: bool) -> int:
    from hermes.config.writer import WriteError, check_plan, plan_changes
    from hermes.platforms.wizard import SetupStopped

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
        _say_next_steps(form)
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
    _say_next_steps(form)
    return 0


def _say_next_steps(form: Form) -> None:
    """What each enabled platform tells the operator once the settings are in place (`next_steps`)."""
    from hermes.config import ConfigError, load_config
    from hermes.platforms.base import registered

    try:
        config = load_config()
    except ConfigError:
        return
    for cls in registered().values():
        wizard, model = cls.wizard, cls.settings
        if wizard is None or wizard.next_steps is None or model is None or not cls.enabled(config):
            continue
        text = wizard.next_steps(config.section(model))
        if text:
            form.ui.say("\n" + text)
