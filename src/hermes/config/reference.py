"""docs/configuration.md, generated from the settings model so that it cannot drift from it.

Keys, environment names, types, defaults and which values are secret all come from the settings models
(through `loader.leaves()`): the core `Settings` and every registered section (platform packages,
providers and tools, in the tree or installed). A section's fields carry their own descriptions, and its
summary and troubleshooting entries come with its registration; the core keys' one-line descriptions live
here. `markdown()` refuses
to run while a setting lacks a description or a description names a setting that is gone.
`python -m hermes.config.reference` prints the document; a test fails when the committed file differs.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import AfterValidator

from hermes.config.loader import Leaf, leaves
from hermes.config.sections import registered_sections

DOC_PATH = "docs/configuration.md"

SECTIONS = {
    "model": "The LLM the agent uses.",
    "gateway": "Behaviour shared by every platform.",
    "store": "Where sessions, transcripts, the inbox and jobs live: `state.db`, or PostgreSQL for replicas.",
    "agent": "The tool-calling loop.",
    "compression": "Summarising long sessions so they fit the model's context.",
    "auxiliary": (
        "Models for side tasks: session titles and compression summaries. Whatever a role leaves unset "
        "comes from `model:`. Other roles of the compatible system (`vision`, `web_extract`, ...) and "
        "`plugins:` are noted once at start and ignored."
    ),
    "display": "How replies appear in chats.",
    "tools": "Which tools the agent may use, and their limits.",
    "logging": "`HERMES_HOME/logs/` (secrets are redacted).",
    "dashboard": "`hermes dashboard`, the operator's web page.",
}

DESCRIPTIONS = {
    "model.provider": "Which provider serves the model.",
    "model.default": "The model id, as the provider names it.",
    "model.base_url": (
        "The provider's endpoint; required by a provider serving any endpoint, which appends `/v1` when "
        "missing."
    ),
    "model.api_key": "A key for the endpoint that overrides the provider's own key setting.",
    "model.context_length": "The model's context window in tokens; compression keeps sessions under it.",
    "model.max_output_tokens": "The most tokens one model reply may have.",
    "model.max_retries": "Retries of a failed model call (429, 5xx, dropped connection).",
    "model.retry_max_seconds": "The longest wait between two retries.",
    "model.request_timeout_seconds": "How long one model call may take.",
    "gateway.allowed_users": "User ids allowed on every platform, in addition to each platform's list.",
    "gateway.allow_all_users": "Let everyone talk to the bot on every platform.",
    "store.url": "A `postgresql://` URL: keep state in PostgreSQL (several replicas may share it).",
    "store.pool_size": "Connections each gateway opens to PostgreSQL.",
    "store.lease_seconds": "With replicas: how long a platform's lease lasts unrenewed; a standby takes over "
    "a dead holder's platform within about 1.2 times this.",
    "gateway.owners": "The owner's user ids (any platform): theirs is memories/USER.md, and only they may "
    "`/sethome`. Empty: the single allowed user of a platform is its owner.",
    "gateway.user_messages_per_minute": "Messages one person may send per minute on a chat platform; more "
    "are ignored (one notice). 0 turns the limit off.",
    "gateway.proxy_url": "Proxy mode: use the agent of a remote Hermes API server instead of a local one.",
    "gateway.proxy_key": "The remote API server's key, for proxy mode.",
    "gateway.shutdown_grace_seconds": "On stop, how long runs in flight may take to finish.",
    "gateway.max_message_age_seconds": "Older messages (sent while the gateway was down) are not answered.",
    "gateway.allow_bots": "Answer messages from other bots.",
    "gateway.max_bot_replies": "With `allow_bots`, the most replies in a row to bots in one chat.",
    "gateway.reconnect_min_seconds": "First wait before reconnecting a platform that failed to start.",
    "gateway.reconnect_max_seconds": "Longest wait between reconnection attempts.",
    "gateway.media_cache_days": "Days an unused downloaded attachment stays in cache/media (0 keeps them).",
    "gateway.inbox_retention_days": (
        "Days an answered chat event stays in state.db's inbox; never less than `max_message_age_seconds` "
        "(0 keeps them)."
    ),
    "gateway.plugins": "Python modules imported at start, e.g. out-of-tree platforms.",
    "group_sessions_per_user": "In group chats, one session per person instead of one per chat.",
    "thread_sessions_per_user": "In threads, one session per person instead of one per thread.",
    "agent.max_turns": "Model calls in one run before it stops without a final answer.",
    "agent.tool_timeout_seconds": "How long one tool call may take.",
    "agent.workspace": "Directory the file and shell tools work in (default `HERMES_HOME/workspace`).",
    "compression.enabled": "Summarise the middle of long sessions.",
    "compression.threshold": "Compress when a session fills this share of the context window.",
    "compression.keep_first": "Messages at the start kept as they are.",
    "compression.keep_last": "Messages at the end kept as they are.",
    "auxiliary.title_generation.provider": (
        "`auto`: the main provider (with a `base_url`, the one serving any endpoint); or a provider name."
    ),
    "auxiliary.title_generation.model": (
        "The title model's id; new sessions are titled only when it (or `base_url`) is set."
    ),
    "auxiliary.title_generation.base_url": (
        "Endpoint of the title model, e.g. a LiteLLM proxy (empty: the main one)."
    ),
    "auxiliary.title_generation.api_key": "Key for that endpoint.",
    "auxiliary.title_generation.context_length": (
        "The title model's context window in tokens (empty: the main one)."
    ),
    "auxiliary.compression.provider": (
        "`auto`: the main provider (with a `base_url`, the one serving any endpoint); or a provider name."
    ),
    "auxiliary.compression.model": "The compression model's id (empty: `model.default`).",
    "auxiliary.compression.base_url": (
        "Endpoint of the compression model, e.g. a LiteLLM proxy (empty: the main one)."
    ),
    "auxiliary.compression.api_key": "Key for that endpoint.",
    "auxiliary.compression.context_length": (
        "The compression model's context window in tokens (empty: the main one)."
    ),
    "auxiliary.title_generation.enabled": (
        "Title new sessions with the title model (`hermes sessions list` shows the title)."
    ),
    "display.busy_input_mode": (
        "A message while a run is going: `interrupt` it, or `queue` it for after. What arrived while the "
        "gateway or a platform was away never interrupts; with `interrupt` it is one input per session."
    ),
    "display.tool_progress": "`brief`: show one line per tool call in the chat.",
    "tools.enabled": "Tool name patterns to offer (`platform:pattern` for one platform); empty: all.",
    "tools.disabled": "Tool name patterns never offered.",
    "mcp_servers": "MCP servers by name: `command` (+ `args`, `env`, `cwd`) or `url` (+ `headers`).",
    "logging.level": "The log file's level.",
    "logging.max_bytes": "Size at which a log file is rotated.",
    "logging.backup_count": "Rotated log files kept.",
    "dashboard.token": "Token the dashboard asks for on every page; required to bind it off loopback.",
    "dashboard.tui": "Enable the dashboard's Chat page (as `hermes dashboard --tui` does).",
}

_PREAMBLE = """\
# Configuration reference

<!-- Generated by `python -m hermes.config.reference` from the settings model; do not edit by hand.
     tests/unit/cli/test_configuration_doc.py fails when this file is out of date. -->

Every setting has a dotted key for `HERMES_HOME/config.yaml` (`gateway.allow_bots` is
`allow_bots:` under `gateway:`); many also have an environment name, set in `HERMES_HOME/.env`, a
drop-in `.env.d/*.env`, or the process environment. Precedence, lowest first: the defaults below <
`config.yaml` < `.env` < `.env.d/*.env` (in name order) < the process environment. Where a setting lists
two environment names, the first one set wins.

In the environment, a list is comma-separated (`GATEWAY_ALLOWED_USERS=@a:x.org,@b:x.org`) and a switch is
`true` or `false`. In `config.yaml`, `${VAR}` and `${VAR:-default}` are replaced from the environment.
Values marked **secret** never appear in logs or in `hermes config show`; keep them in `.env` (mode 0600).
`hermes gateway setup` writes the common ones for you.
"""


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _bounds(metadata: list[Any]) -> str:
    words = []
    for item in metadata:
        for attribute, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(item, attribute, None)
            if value is not None:
                words.append(f"{sign} {value}")
    return " " + ", ".join(words) if words else ""


def _registered_choices(metadata: list[Any]) -> list[str] | None:
    """The values an extension registry allows (`model.provider`: the registered providers)."""
    for item in metadata:
        allowed = getattr(item.func, "allowed", None) if isinstance(item, AfterValidator) else None
        if callable(allowed):
            return list(allowed())
    return None


def describe_type(annotation: Any, metadata: list[Any]) -> str:
    inner = _unwrap_optional(annotation)
    origin = typing.get_origin(inner)
    choices = _registered_choices(metadata)
    if choices is not None:
        text = "one of " + ", ".join(f"`{value}`" for value in choices)
    elif origin is typing.Literal:
        text = "one of " + ", ".join(f"`{value}`" for value in typing.get_args(inner))
    elif inner is bool:
        text = "true/false"
    elif inner is int:
        text = "integer" + _bounds(metadata)
    elif inner is float:
        text = "number" + _bounds(metadata)
    elif inner is str:
        text = "text"
    elif origin is list:
        text = "list of text"
    elif origin is dict:
        text = "mapping"
    else:
        text = getattr(inner, "__name__", str(inner))
    return text


def _description(leaf: Leaf) -> str | None:
    return leaf.description or DESCRIPTIONS.get(leaf.key)


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    if value in ([], {}):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"`{value}`"
    return f"`{json.dumps(value, ensure_ascii=False).strip(chr(34))}`"


def _check_descriptions() -> None:
    keys = {leaf.key for leaf in leaves()}
    missing = sorted(leaf.key for leaf in leaves() if not _description(leaf))
    stale = sorted(DESCRIPTIONS.keys() - keys)
    if missing or stale:
        raise ValueError(
            f"hermes.config.reference: describe {', '.join(missing) or 'nothing'}; "
            f"remove {', '.join(stale) or 'nothing'}"
        )


def markdown() -> str:
    _check_descriptions()
    lines = [_PREAMBLE]
    groups: dict[str, list[Any]] = {}
    for leaf in leaves():
        section = leaf.key.split(".")[0] if "." in leaf.key else ""
        groups.setdefault(section, []).append(leaf)
    extensions = registered_sections()
    for section, items in groups.items():
        lines.append(f"## {'`' + section + '`' if section else 'Top level'}\n")
        # A block several extensions share (`provider_keys`) has one summary; theirs are the same words.
        owners = [spec for spec in extensions if spec.key == section]
        summary = SECTIONS.get(section) or next((spec.summary for spec in owners if spec.summary), None)
        if summary:
            lines.append(summary + "\n")
        lines.append("| key | environment | type | default | description |")
        lines.append("|---|---|---|---|---|")
        for leaf in items:
            info = leaf.info
            if info is None:
                raise ValueError(f"hermes.config.reference: {leaf.key} has no field")
            kind = describe_type(info.annotation, info.metadata)
            if leaf.secret:
                kind += ", **secret**"
            env = ", ".join(f"`{name}`" for name in leaf.env) or "—"
            default = _default(info.get_default(call_default_factory=True, validated_data={}))
            lines.append(f"| `{leaf.key}` | {env} | {kind} | {default} | {_description(leaf)} |")
        lines.append("")
        troubles = [entry for spec in owners for entry in spec.troubleshooting]
        if troubles:
            lines.append(f"Troubleshooting `{section}`:\n")
            lines += [f"- **{symptom}** {remedy}" for symptom, remedy in troubles]
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
