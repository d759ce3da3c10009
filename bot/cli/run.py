"""`python -m bot run`: start the Discord bot (settings → bot → run until SIGTERM / Ctrl+C)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from bot.config import Settings
from bot.errors import ConfigError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="start the Discord bot (the default)")
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Settings) -> int:
    token = settings.require_token()
    asyncio.run(serve(settings, token))
    return 0


async def serve(settings: Settings, token: str) -> None:
    """Run the bot until it is closed; SIGTERM and SIGINT close it gracefully (jobs get
    SHUTDOWN_GRACE seconds to finish, the rest stay queued for the next start)."""
    # Imported here so that `python -m bot parse` never pays for discord.py.
    import aiohttp
    import discord

    from bot.discord.bot import MidjourneyBot, apply_discord_endpoints

    apply_discord_endpoints(settings)
    # The bot never joins voice: the missing-voice-library warnings would only alarm operators.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    bot = MidjourneyBot(settings)
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
