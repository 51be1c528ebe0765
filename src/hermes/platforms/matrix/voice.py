"""Voice messages to text, through the model provider's OpenAI-compatible `/audio/transcriptions` endpoint.

Transcription is set up when the provider offers that endpoint: `openai`, or a `custom` endpoint (vLLM,
LiteLLM, LocalAI, a llama.cpp whisper server...) at `model.base_url`. It uses the provider's key and the
`whisper-1` model name, which OpenAI and the common compatible servers accept. With any other provider the
person who sent a voice message is told that voice is not set up.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from hermes.config.loader import setting_value
from hermes.config.settings import Settings

TRANSCRIPTION_MODEL = "whisper-1"
NOT_SET_UP = (
    "🎤 Voice messages are not set up on this bot: its model provider offers no speech-to-text. "
    "Please send text instead."
)


class TranscriptionFailed(Exception):
    pass


class Transcriber(Protocol):
    async def transcribe(self, path: str, mime_type: str) -> str: ...


class OpenAITranscriber:
    def __init__(self, base_url: str | None, api_key: str, model: str = TRANSCRIPTION_MODEL) -> None:
        from openai import AsyncOpenAI

        self.model = model
        self._client = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=2, timeout=120.0)

    async def transcribe(self, path: str, mime_type: str) -> str:
        from openai import OpenAIError

        data = await asyncio.to_thread(Path(path).read_bytes)
        try:
            result = await self._client.audio.transcriptions.create(
                model=self.model, file=(Path(path).name, data, mime_type)
            )
        except OpenAIError as exc:
            raise TranscriptionFailed(str(exc)) from exc
        return result.text.strip()

    async def close(self) -> None:
        await self._client.close()


def transcriber_for(settings: Settings) -> OpenAITranscriber | None:
    model = settings.model
    if model.provider == "openai":
        key = model.api_key or setting_value(settings, "provider_keys.openai_api_key")
        return OpenAITranscriber(model.base_url, key) if key else None
    if model.provider == "custom" and model.base_url:
        base = model.base_url.rstrip("/")
        if not base.endswith("/v1"):
            base += "/v1"
        return OpenAITranscriber(base, model.api_key or "none")
    return None
