"""`python -m bot run`: start the Discord bot and the web app beside it (settings → bot → run until
SIGTERM / Ctrl+C). Without DISCORD_TOKEN: local mode, the web app alone (see bot/web/serve.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging

from bot.config import Config

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="start the Discord bot and the web app (the default)")
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Config) -> int:
    from bot.store.repository import Repository

    # A database that cannot be opened is one line and exit 2, before anything else starts.
    asyncio.run(Repository.verify(settings.database_path, settings.images_dir))
    if not settings.discord_token:
        from bot.web.serve import serve_local

        asyncio.run(serve_local(settings))
        return 0
    token = settings.require_token()
    # Imported here so that `python -m bot parse` never pays for discord.py.
    from bot.discord.runner import serve

    asyncio.run(serve(settings, token))
    return 0
