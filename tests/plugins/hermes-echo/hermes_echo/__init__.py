"""The echo platform: an example of a Hermes platform package distributed on its own.

People post `{"user": ..., "text": ...}` to `POST /messages` (Bearer `ECHO_TOKEN`); the bot's replies
are listed by `GET /sent`. Installing the distribution is enough: its `hermes.platforms` entry point
names this package, whose import registers the platform.
"""

from hermes_echo.platform import EchoPlatform

__all__ = ["EchoPlatform"]
