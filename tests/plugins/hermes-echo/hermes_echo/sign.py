"""The `sign` tool: an example of a Hermes agent tool distributed on its own, with a secret setting.

It signs a text with the operator's key (HMAC-SHA256), so the model can use the key without ever seeing
it. Its settings are the block `tools.sign` of config.yaml and the `ECHO_SIGN_*` environment; the key is
secret, so Hermes redacts it from logs and `config show`. Installing the distribution is enough: its
`hermes.tools` entry point names this module, whose import registers the tool and its settings.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated, Any, ClassVar

from pydantic import Field

from hermes.agent.tools.base import (
    ToolContext,
    ToolResult,
    register_tool,
    register_tool_settings,
    string_arg,
)
from hermes.config.settings import Env, Secret, Section, Settings

log = logging.getLogger(__name__)


class SignSettings(Section):
    key: Annotated[
        str | None,
        Env("ECHO_SIGN_KEY"),
        Secret,
        Field(description="The key texts are signed with (HMAC-SHA256)."),
    ] = None
    label: Annotated[str, Env("ECHO_SIGN_LABEL"), Field(description="Named in every signature.")] = "echo"


class SignTool:
    name = "sign"
    description = "Sign a text with the operator's key; returns the signature (hex)."
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"text": {"type": "string", "description": "The text to sign."}},
        "required": ["text"],
    }

    def available(self, settings: Settings) -> bool:
        return bool(settings.section(SignSettings).key)

    async def __call__(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        settings = ctx.settings.section(SignSettings)
        text = string_arg(args, "text")
        # The key in a log line on purpose: Hermes redacts every secret setting from its logs.
        log.info("sign: signing with key %s", settings.key)
        key = (settings.key or "").encode()
        signature = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        return ToolResult(f"{settings.label}:{signature}", summary=f"signed {len(text)} characters")


register_tool_settings("sign", SignSettings, env_prefix="ECHO_SIGN_")
register_tool(SignTool())
