"""`python -m bot run`: start the Discord bot."""

from __future__ import annotations

import argparse

from bot.errors import ConfigError
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="start the Discord bot (the default)")
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Settings) -> int:
    settings.require_token()
    raise ConfigError("the Discord front is not built yet; use `python -m bot imagine` meanwhile")
