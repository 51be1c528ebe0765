"""Claude on AWS Bedrock: the Anthropic provider over `AsyncAnthropicBedrock` (SigV4, AWS event streams).

Credentials come from the settings when given, else from the standard AWS chain (profile, instance role).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from hermes.agent.providers.anthropic import AnthropicProvider
from hermes.agent.providers.base import (
    ProviderConfigError,
    ProviderSpec,
    SetupQuestion,
    keys_section,
    register_provider,
)
from hermes.config.sections import PrefixRule, SectionSpec
from hermes.config.settings import Env, Secret, Section, Settings


class BedrockKeys(Section):
    aws_access_key_id: Annotated[
        str | None,
        Env("AWS_ACCESS_KEY_ID"),
        Secret,
        Field(description="AWS access key id for Bedrock (else the AWS credential chain)."),
    ] = None
    aws_secret_access_key: Annotated[
        str | None,
        Env("AWS_SECRET_ACCESS_KEY"),
        Secret,
        Field(description="AWS secret access key for Bedrock."),
    ] = None
    aws_session_token: Annotated[
        str | None,
        Env("AWS_SESSION_TOKEN"),
        Secret,
        Field(description="AWS session token for temporary Bedrock credentials."),
    ] = None


class BedrockSettings(Section):
    region: Annotated[
        str | None,
        Env("AWS_DEFAULT_REGION", "AWS_REGION"),
        Field(description="AWS region of Bedrock (else the AWS chain's region)."),
    ] = None


class BedrockProvider(AnthropicProvider):
    name = "bedrock"
    label = "Bedrock"

    @classmethod
    def from_settings(cls, settings: Settings, http_client: Any = None) -> BedrockProvider:
        import anthropic

        keys = settings.section(BedrockKeys)
        try:
            client = anthropic.AsyncAnthropicBedrock(
                aws_access_key=keys.aws_access_key_id,
                aws_secret_key=keys.aws_secret_access_key,
                aws_session_token=keys.aws_session_token,
                # None lets the AWS chain decide (AWS_REGION, the profile's region).
                aws_region=settings.section(BedrockSettings).region,
                base_url=settings.model.base_url,
                timeout=settings.model.request_timeout_seconds,
                max_retries=0,
                http_client=http_client,
            )
        except ValueError as exc:
            raise ProviderConfigError(f"model.provider is bedrock but {exc}") from None
        return cls(client, (keys.aws_secret_access_key, keys.aws_session_token))

    async def check(self) -> str:
        # Listing models is another AWS service (bedrock, not bedrock-runtime) with its own permission;
        # a runtime-only IAM policy would fail it though the gateway works. Only the set-up is checked.
        region = self._client.aws_region or "from the AWS chain"
        return f"Bedrock client set up for region {region} (not probed live)"


_ACCESS_KEY = "provider_keys.aws_access_key_id"
_SECRET_KEY = "provider_keys.aws_secret_access_key"

register_provider(
    ProviderSpec(
        "bedrock",
        "AWS Bedrock",
        "Claude through your AWS account",
        BedrockProvider.from_settings,
        # AWS_ names are credentials wherever they come from: none reaches commands the agent runs.
        sections=(
            keys_section(BedrockKeys, "AWS_", PrefixRule.CREDENTIALS),
            SectionSpec(
                "bedrock",
                BedrockSettings,
                "AWS Bedrock (with `model.provider: bedrock`).",
                "AWS_",
                prefix_rule=PrefixRule.CREDENTIALS,
            ),
        ),
        key_setting=_SECRET_KEY,
        questions=(
            SetupQuestion(
                _ACCESS_KEY,
                "AWS access key id (Enter to use this machine's AWS profile or role)",
                "--aws-access-key-id",
                "The access key",
                help="bedrock: access key id.",
                secret=True,
                optional=True,
            ),
            SetupQuestion(
                _SECRET_KEY,
                "AWS secret access key",
                "--aws-secret-access-key",
                "The secret key",
                help="bedrock.",
                secret=True,
                optional=True,
                after=_ACCESS_KEY,
            ),
            SetupQuestion(
                "bedrock.region",
                "AWS region",
                "--aws-region",
                "The region",
                help="bedrock: the AWS region.",
                default="us-east-1",
            ),
        ),
        menu_order=40,
    )
)
