"""`python -m bot run`: start the Discord bot (settings → bot → run until SIGTERM / Ctrl+C)."""

from __future__ import annotations

import argparse
import asyncio
import logging

from bot.config import Config

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="start the Discord bot (the default)")
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Config) -> int:
    token = settings.require_token()
    # Imported here so that `python -m bot parse` never pays for discord.py.
    from bot.discord.runner import serve

    asyncio.run(serve(settings, token))
    return 0
