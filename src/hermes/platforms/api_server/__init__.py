"""The OpenAI-compatible API server (registered as "api_server"). See `platform.ApiServerPlatform`."""

from hermes.platforms.api_server.platform import ApiServerPlatform

__all__ = ["ApiServerPlatform"]
