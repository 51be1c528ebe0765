"""Hermes: a self-hosted AI agent served on Matrix, Mattermost and an OpenAI-compatible API."""

__version__ = "0.1.0"
__release_date__ = "2026.11.21"
