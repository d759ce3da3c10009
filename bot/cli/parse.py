"""`python -m bot parse "PROMPT"`: dry run of the prompt language.

Prints `{"jobs": [JOB, ...]}`, one JOB per permutation × --repeat, as `ImagineRequest.to_dict()`.
Errors in the prompt print one line on stderr and exit 2 (see `bot.cli.main`).
"""

from __future__ import annotations

import argparse
import json

from bot.prompt import PromptContext, context_from_settings, expand_prompt
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("parse", help="show how a prompt is understood, as JSON")
    parser.add_argument("prompt")
    parser.add_argument(
        "--user-id", type=int, default=None, help="apply this Discord user's suffix, options and defaults"
    )
    parser.add_argument(
        "--guild-id", type=int, default=None, help="apply this Discord server's style presets"
    )
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Settings) -> int:
    context = load_context(settings, user_id=args.user_id, guild_id=args.guild_id)
    requests = expand_prompt(args.prompt, context)
    print(json.dumps({"jobs": [request.to_dict() for request in requests]}, indent=2, ensure_ascii=False))
    return 0


def load_context(settings: Settings, *, user_id: int | None, guild_id: int | None) -> PromptContext:
    """The context a prompt from `user_id` in `guild_id` is read with.

    Personal settings (suffix, options, defaults) and guild presets live in the database, which
    arrives with the per-user settings work; until then the ids are accepted and the context holds
    the model facts only.
    """
    return context_from_settings(settings)
