"""Run the Discord bot (and the web app beside it, on the same job service) until SIGTERM / Ctrl+C,
turning Discord's start-up refusals into one line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import aiohttp
import discord

from bot.config import Config
from bot.discord.bot import apply_discord_endpoints, make_bot
from bot.discord.web_posting import DiscordPoster
from bot.errors import ConfigError
from bot.web.serve import register_web_delivery, start_beside_bot
from bot.wiring import open_job_service

__all__ = ["serve"]

log = logging.getLogger(__name__)


async def serve(settings: Config, token: str) -> None:
    """Run the bot until it is closed; SIGTERM and SIGINT close it gracefully (jobs get
    SHUTDOWN_GRACE seconds to finish, the rest stay queued for the next start)."""
    apply_discord_endpoints(settings)
    # The bot never joins voice: the missing-voice-library warnings would only alarm operators.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    # One job service for the bot and the web app; the bot starts and stops it.
    jobs = await open_job_service(settings)
    register_web_delivery(jobs)
    bot = make_bot(settings, jobs=jobs)
    web = await start_beside_bot(settings, jobs, DiscordPoster(bot))
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
        await jobs.repository.close()
