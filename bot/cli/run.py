"""`python -m bot run`: start the Discord bot (settings → bot → run until SIGTERM / Ctrl+C)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from bot.settings import Settings

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
    from bot.bot import MidjourneyBot, apply_discord_endpoints

    apply_discord_endpoints(settings)
    bot = MidjourneyBot(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(bot.close()))
    log.info("starting the bot (REST %s)", settings.discord_api_base)
    async with bot:
        # The token goes to discord.py only; nothing here logs it.
        await bot.start(token)
