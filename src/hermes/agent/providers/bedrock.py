"""Claude on AWS Bedrock: the Anthropic provider over `AsyncAnthropicBedrock` (SigV4, AWS event streams).

Credentials come from the settings when given, else from the standard AWS chain (profile, instance role).
"""

from __future__ import annotations

from typing import Any

from hermes.agent.providers.anthropic import AnthropicProvider
from hermes.agent.providers.base import ProviderConfigError, register_provider
from hermes.config.settings import Settings


class BedrockProvider(AnthropicProvider):
    name = "bedrock"
    label = "Bedrock"

    @classmethod
    def from_settings(cls, settings: Settings, http_client: Any = None) -> BedrockProvider:
        import anthropic

        keys = settings.provider_keys
        try:
            client = anthropic.AsyncAnthropicBedrock(
                aws_access_key=keys.aws_access_key_id,
                aws_secret_key=keys.aws_secret_access_key,
                aws_session_token=keys.aws_session_token,
                # None lets the AWS chain decide (AWS_REGION, the profile's region).
                aws_region=settings.bedrock.region,
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


register_provider("bedrock", BedrockProvider.from_settings)
