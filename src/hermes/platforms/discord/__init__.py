"""Discord: Hermes as a bot over REST v10 and the Gateway, with aiohttp.

Two layers: a thin driver that speaks the API (`rest`, `gateway`), and the chat logic on top of it
(`addressing`, `catchup`, `channels`, `files`, `inbound`, `listener`, `slash`, `platform`). Importing the
package registers the platform.
"""

from hermes.platforms.discord.platform import DiscordPlatform

__all__ = ["DiscordPlatform"]
