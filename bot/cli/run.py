"""`python -m bot run`: start the Discord bot and the web app beside it (settings → bot → run until
SIGTERM / Ctrl+C). Without DISCORD_TOKEN: local mode, the web app alone (see bot/web/serve.py)."""

from __future__ import annotations

import argparse
import logging

from bot.config import Config

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="start the Discord bot and the web app (the default)")
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Config) -> int:
    # Imported here so that `python -m bot parse` never pays for discord.py or the store.
    from bot.app import run

    run(settings)
    return 0
