"""Mattermost: Hermes as a bot over REST API v4 and the WebSocket, with aiohttp.

Two layers: a thin driver that speaks the API (`rest`, `websocket`), and the chat logic on top of it
(`addressing`, `catchup`, `files`, `inbound`, `listener`, `platform`). Importing the package registers
the platform.
"""

from hermes.platforms.mattermost.platform import MattermostPlatform

__all__ = ["MattermostPlatform"]
