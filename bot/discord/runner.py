"""Run the Discord bot until SIGTERM / Ctrl+C, turning Discord's start-up refusals into one line.

The composition root (bot/app.py) hands in the services, the web app's `WebPages` port and a
function that starts the web app beside the bot with this bot's `ChannelPoster`; this package
never imports bot/web."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Protocol

import aiohttp
import discord

from bot.config import Config
from bot.discord.bot import apply_discord_endpoints, make_bot
from bot.discord.web_posting import DiscordPoster
from bot.errors import ConfigError
from bot.jobs.ports import ChannelPoster, WebPages
from bot.services import Services

__all__ = ["Stoppable", "serve"]

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    """Something started beside the bot (the web app) that the bot's stop stops too."""

    async def stop(self) -> None: ...


async def serve(
    settings: Config,
    token: str,
    services: Services,
    *,
    pages: WebPages | None = None,
    beside: Callable[[ChannelPoster], Awaitable[Stoppable | None]] | None = None,
) -> None:
    """Run the bot until it is closed; SIGTERM and SIGINT close it gracefully (jobs get
    SHUTDOWN_GRACE seconds to finish, the rest stay queued for the next start). `beside` starts
    the web app with the bot's channel poster; the caller closes the services afterwards."""
    apply_discord_endpoints(settings)
    # The bot never joins voice: the missing-voice-library warnings would only alarm operators.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    # One job service for the bot and the web app; the bot starts and stops it.
    bot = make_bot(settings, services=services, pages=pages)
    web = await beside(DiscordPoster(bot)) if beside is not None else None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(bot.close()))
    log.info("starting the bot (REST %s)", settings.discord_api_base)
    try:
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
    finally:
        # discord.py's `async with` does not wait for a close a signal already started; the
        # job service must have stopped (and delivered what it could) before the database goes.
        await bot.close()
        if web is not None:
            await web.stop()
