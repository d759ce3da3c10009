"""Command line: `python -m bot` (the Discord bot), `imagine` (one local job), `edit` (Zoom Out,
Make Square, Pan, Vary (Region), Retexture, Edit, Remove background, Smart Select on a stored
image), `upload` (an outside picture as a job), `parse` (dry run), `upscale` (super-resolution of
any picture).

Each subcommand lives in its own module with `register(subparsers)`; the module sets
`func(args, settings) -> int` as the parser default. Settings are loaded once here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.cli import edit, imagine, parse, run, upload, upscale
from bot.config import load_settings, readable_by_others
from bot.errors import ConfigError, UserFacingError

SUBCOMMANDS = (run, imagine, edit, upload, parse, upscale)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--env-file", default=".env", help="settings file to load (default: .env)")
    subparsers = parser.add_subparsers(dest="command")
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "run"])
    try:
        settings = load_settings(args.env_file)
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        if args.command == "run" and Path(args.env_file).is_file() and readable_by_others(args.env_file):
            logging.getLogger(__name__).warning(
                "%s holds the bot token and other users can read it: run `chmod 600 %s`",
                args.env_file,
                args.env_file,
            )
        return args.func(args, settings)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except UserFacingError as error:
        print(str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
