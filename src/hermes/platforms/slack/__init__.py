"""Slack in Socket Mode: the `slack` platform, registered on import."""

from hermes.platforms.slack.platform import SlackPlatform

__all__ = ["SlackPlatform"]
