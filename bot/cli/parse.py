"""`python -m bot parse "PROMPT"`: dry run of the prompt language."""

from __future__ import annotations

import argparse

from bot.errors import ConfigError
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("parse", help="show how a prompt is understood, as JSON")
    parser.add_argument("prompt")
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Settings) -> int:
    raise ConfigError("the prompt language is not built yet")
