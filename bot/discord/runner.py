"""Run the Discord bot until SIGTERM / Ctrl+C, turning Discord's start-up refusals into one line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import aiohttp
import discord

from bot.config import Config
from bot.discord.bot import apply_discord_endpoints, make_bot
from bot.errors import ConfigError

__all__ = ["serve"]

log = logging.getLogger(__name__)


async def serve(settings: Config, token: str) -> None:
    """Run the bot until it is closed; SIGTERM and SIGINT close it gracefully (jobs get
    SHUTDOWN_GRACE seconds to finish, the rest stay queued for the next start)."""
    apply_discord_endpoints(settings)
    # The bot never joins voice: the missing-voice-library warnings would only alarm operators.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    bot = make_bot(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(bot.close()))
    log.info("starting the bot (REST %s)", settings.discord_api_base)
    async with bot:
        # The token goes to discord.py only; nothing here logs it.
        try:
            await bot.start(token)
        except discord.LoginFailure:
            raise ConfigError(
                "DISCORD_TOKEN was rejected by Discord: reset it in the developer portal"
            ) from None
        except discord.PrivilegedIntentsRequired as error:
            raise ConfigError(f"Discord refused the bot's intents: {error}") from None
        except (aiohttp.ClientConnectorError, OSError) as error:
            raise ConfigError(
                f"cannot reach Discord at DISCORD_API_BASE={settings.discord_api_base} "
                f"(or the gateway): {error}"
            ) from None
